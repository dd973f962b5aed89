{#-
  share_below(max_share, condition=none, numerator=none, denominator=none, group_by=none)
  Groups (by the group_by columns, else the whole model) whose share exceeds max_share, i.e. the
  share must stay at most max_share. The share is either
    - of rows meeting `condition` (a SQL boolean over a row), or
    - sum(numerator) / sum(denominator), for a model whose rows are already counts (e.g.
      numerator rows_unassigned, denominator rows_with_address on data_quality).
  Groups whose denominator is 0 pass (no share). Returns the group, numerator, denominator and
  share, so a failure reads as a list of the offending groups.
-#}
{% test share_below(model, max_share, condition=none, numerator=none, denominator=none, group_by=none) %}
{%- if condition is not none and (numerator is none and denominator is none) %}
    {%- set num = 'case when ' ~ condition ~ ' then 1 else 0 end' %}
    {%- set den = '1' %}
{%- elif condition is none and numerator is not none and denominator is not none %}
    {%- set num = 'coalesce(' ~ numerator ~ ', 0)' %}
    {%- set den = 'coalesce(' ~ denominator ~ ', 0)' %}
{%- else %}
    {{ exceptions.raise_compiler_error(
        'share_below: give either condition, or numerator and denominator (model ' ~ model ~ ')'
    ) }}
{%- endif %}
{%- set groups = group_by if group_by is not none else [] %}

with

counts as (

    select
        {%- for col in groups %}
        {{ col }},
        {%- endfor %}
        sum({{ num }}) as share_numerator,
        sum({{ den }}) as share_denominator
    from {{ model }}
    {%- if groups %}
    group by {{ groups | join(', ') }}
    {%- endif %}

),

shares as (

    select
        counts.*,
        cast(counts.share_numerator as {{ stats_double_type() }})
        / counts.share_denominator as observed_share
    from counts
    where counts.share_denominator > 0

)

select *
from shares
where shares.observed_share > {{ max_share }}

{% endtest %}
