{#-
  valid_pseudonym(column, prefixes=['A', 'N', 'H', 'R'])
  Rows whose value is not a keyed pseudonym as ingest/pseudonymise.py writes it: one prefix
  letter (A person by ΑΜΚΑ, N person by name and birth date, H household, R record) followed by
  32 lower-case hex digits (the first 128 bits of HMAC-SHA256). Nulls pass (test not_null
  separately). Portable: length, the first character and nested replace() of the hex digits.
-#}
{% test valid_pseudonym(model, column_name, prefixes=none) %}
{%- set allowed = prefixes if prefixes is not none else ['A', 'N', 'H', 'R'] %}
{%- set ns = namespace(rest=dbt.right('pseudonyms.pseudonym', 32)) %}
{%- for digit in '0123456789abcdef' %}
    {%- set ns.rest = dbt.replace(ns.rest, "'" ~ digit ~ "'", "''") %}
{%- endfor %}

with

pseudonyms as (

    select {{ column_name }} as pseudonym
    from {{ model }}
    where {{ column_name }} is not null

)

select pseudonyms.pseudonym
from pseudonyms
where {{ dbt.length('pseudonyms.pseudonym') }} <> 33
    or substring(pseudonyms.pseudonym, 1, 1) not in (
        {%- for p in allowed %}'{{ p }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )
    or {{ dbt.length(ns.rest) }} <> 0

{% endtest %}
