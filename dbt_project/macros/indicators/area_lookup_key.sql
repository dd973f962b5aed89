{#-
  area_lookup_key(neighbourhood_id, municipality_code) -> SQL expression
  The key a record joins int_neighbourhood_areas on: its neighbourhood, or for a record with no
  neighbourhood (address not assigned) its municipality's pseudo-neighbourhood
  '<municipality_code>-unassigned', which rolls up to the municipality alone. So a municipality's
  counts include every record, and lower levels only the assigned ones.
-#}
{% macro area_lookup_key(neighbourhood_id, municipality_code) -%}
    coalesce({{ neighbourhood_id }}, {{ dbt.concat([municipality_code, "'-unassigned'"]) }})
{%- endmacro %}
