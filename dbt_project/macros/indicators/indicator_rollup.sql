{#-
  indicator_rollup(indicator_id, relation, numerator, denominator='null', value='null',
                   where='1 = 1', neighbourhood_areas='neighbourhood_areas')
      -> a select statement
  One row per area (every level of `neighbourhood_areas`, with its municipality_code) and period for one indicator: the rows of `relation` (a CTE
  with period_type, period_start, municipality_code and neighbourhood_id; one row per person,
  household or event in a period) are placed in their neighbourhood (or, unassigned, in their
  municipality only) and aggregated over each area containing it:
    numerator    an aggregate expression (e.g. count(*), sum(case when ... then 1 else 0 end))
    denominator  an aggregate for indicators whose denominator is counted from the same rows
                 (e.g. active beneficiaries); 'null' when it is a population
    value        an aggregate for indicators whose value is not numerator/denominator (median)
  Areas and periods with no rows are not output here: the caller's scaffold fills in zeros.
-#}
{% macro indicator_rollup(indicator_id, relation, numerator, denominator='null', value='null',
                          where='1 = 1', neighbourhood_areas='neighbourhood_areas') -%}
    select
        cast('{{ indicator_id }}' as {{ dbt.type_string() }}) as indicator_id,
        {{ neighbourhood_areas }}.area_level,
        {{ neighbourhood_areas }}.area_id,
        {{ neighbourhood_areas }}.municipality_code,
        {{ relation }}.period_type,
        {{ relation }}.period_start,
        cast({{ numerator }} as {{ stats_double_type() }}) as numerator,
        cast({{ denominator }} as {{ stats_double_type() }}) as denominator_count,
        cast({{ value }} as {{ stats_double_type() }}) as value_direct
    from {{ relation }}
    inner join {{ neighbourhood_areas }}
        on {{ area_lookup_key(relation ~ '.neighbourhood_id', relation ~ '.municipality_code') }}
            = {{ neighbourhood_areas }}.neighbourhood_id
    where {{ where }}
    group by
        {{ neighbourhood_areas }}.area_level,
        {{ neighbourhood_areas }}.area_id,
        {{ neighbourhood_areas }}.municipality_code,
        {{ relation }}.period_type,
        {{ relation }}.period_start
{%- endmacro %}


{#- median(expr): the median of expr as an aggregate (percentile_cont 0.5; dispatched). -#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'geitonia')(expr)) }}
{%- endmacro %}

{% macro default__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}
