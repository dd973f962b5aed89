-- Every share of data_quality is a proportion: in [0, 1], and null exactly when its
-- denominator is 0. Returns the rows that break it.
with

data_quality as (

    select * from {{ ref('data_quality') }}

)

select *
from data_quality
where
    {%- for share, den in [
        ('rejected_share', 'rows_read'),
        ('unassigned_share', 'rows_with_address'),
        ('invalid_amka_share', 'rows_with_amka_column'),
    ] %}
    ({{ share }} is null) <> ({{ den }} = 0)
    or {{ share }} < 0
    or {{ share }} > 1
    {%- if not loop.last %}
    or{% endif %}
    {%- endfor %}
