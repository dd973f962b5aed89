{#-
  indicator_disclosure_cells(values, catalogue) -> a select statement
  The cells of disclosure control for rows of int_indicator_values (a CTE named by `values`),
  one per row (controlled_only: only indicators with a minimum count, those in relations): cell_id, municipality_code, the row's keys, the catalogue's additivity flags,
  cell_count (the count whose disclosure is controlled: the numerator; for a median the number
  of requests it is taken over) and is_primary_suppressed: a count from 1 to the threshold (also
  a counted denominator), or an age-standardised rate over fewer than 10 events. Internal
  data-quality indicators (no minimum in the catalogue) are never suppressed.

  indicator_disclosure_links(cells, catalogue) -> a select statement
  (cell_id, linked_cell_id): a derived indicator is suppressed with the indicator its catalogue
  row names in suppress_with_indicator_id (same area and period).
-#}
{% macro indicator_disclosure_cells(values, catalogue='catalogue', controlled_only=false) -%}
    select
        {{ indicator_cell_id(values) }} as cell_id,
        {{ values }}.municipality_code,
        {{ values }}.indicator_id,
        {{ values }}.area_level,
        {{ values }}.area_id,
        {{ values }}.period_type,
        {{ values }}.period_start,
        {{ values }}.period_end,
        {{ catalogue }}.is_additive_over_areas,
        {{ catalogue }}.is_additive_over_time,
        case
            when {{ values }}.catalogue_method = 'median' then {{ values }}.denominator
            else {{ values }}.numerator
        end as cell_count,
        case
            when {{ catalogue }}.min_count_for_publication = 0 then false
            when {{ values }}.catalogue_method = 'dsr_dobson'
                then coalesce({{ values }}.numerator, 0) < 10 or {{ values }}.value is null
                    or {{ is_small_count(values ~ '.numerator') }}
            when {{ values }}.catalogue_method = 'median'
                then {{ is_small_count(values ~ '.denominator') }}
            else
                {{ is_small_count(values ~ '.numerator') }}
                or ({{ values }}.is_counted_denominator and {{ is_small_count(values ~ '.denominator') }})
        end as is_primary_suppressed
    from {{ values }}
    inner join {{ catalogue }}
        on {{ values }}.indicator_id = {{ catalogue }}.indicator_id
    {%- if controlled_only %}
    where {{ catalogue }}.min_count_for_publication > 0
    {%- endif %}
{%- endmacro %}


{% macro indicator_disclosure_links(cells, catalogue='catalogue') -%}
    select
        {{ cells }}.cell_id,
        disclosure_linked.cell_id as linked_cell_id
    from {{ cells }}
    inner join {{ catalogue }}
        on {{ cells }}.indicator_id = {{ catalogue }}.indicator_id
    inner join {{ cells }} as disclosure_linked
        on
            {{ catalogue }}.suppress_with_indicator_id = disclosure_linked.indicator_id
            and {{ cells }}.area_level = disclosure_linked.area_level
            and {{ cells }}.area_id = disclosure_linked.area_id
            and {{ cells }}.period_type = disclosure_linked.period_type
            and {{ cells }}.period_start = disclosure_linked.period_start
{%- endmacro %}
