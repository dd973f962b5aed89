{#-
  requests_fulfilled_in_periods(periods) -> a select statement
  Requests of the call centre fulfilled within each period of their municipality (`periods`: a
  CTE of int_periods rows): period_type, period_start, municipality_code, neighbourhood_id,
  days_to_fulfil. The relation the median days to fulfil is taken over, at every level.
-#}
{% macro requests_fulfilled_in_periods(periods='periods') -%}
    select
        {{ periods }}.period_type,
        {{ periods }}.period_start,
        fct.municipality_code,
        fct.neighbourhood_id,
        fct.days_to_fulfil
    from {{ ref('fct_call_centre_requests') }} as fct
    inner join {{ periods }}
        on
            fct.municipality_code = {{ periods }}.municipality_code
            and fct.fulfilled_on between {{ periods }}.period_start and {{ periods }}.period_end
    where fct.fulfilled_on is not null
{%- endmacro %}


{#-
  relations_with_parts(relations) -> a select statement
  The rows of `relations` (group_id, cell_id, is_total, ...) whose relation has at least one
  part: a total with no parts (e.g. a community with no neighbourhoods listed) protects nothing.
-#}
{% macro relations_with_parts(relations='relations') -%}
    select {{ relations }}.*
    from {{ relations }}
    inner join (
        select group_id
        from {{ relations }}
        group by group_id
        having sum(case when is_total then 0 else 1 end) > 0
    ) as groups_with_parts
        on {{ relations }}.group_id = groups_with_parts.group_id
{%- endmacro %}


{#-
  period_parents(periods, keys=[]) -> a select statement
  Each month with the quarter containing it and each quarter with its year, from `periods` (a
  CTE with period_type, period_start, period_end and the columns in `keys`, matched too):
  the keys, period_type, period_start, parent_period_type, parent_period_start.
-#}
{% macro period_parents(periods='periods', keys=[]) -%}
    select
        {%- for k in keys %}
        months.{{ k }},
        {%- endfor %}
        months.period_type,
        months.period_start,
        parents.period_type as parent_period_type,
        parents.period_start as parent_period_start
    from {{ periods }} as months
    inner join {{ periods }} as parents
        on
            {%- for k in keys %}
            months.{{ k }} = parents.{{ k }} and
            {%- endfor %}
            months.period_start >= parents.period_start
            and months.period_end <= parents.period_end
            and (
                (months.period_type = 'month' and parents.period_type = 'quarter')
                or (months.period_type = 'quarter' and parents.period_type = 'year')
            )
{%- endmacro %}
