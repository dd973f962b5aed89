-- The SQL normaliser (macro normalise_greek) gives, for every spelling of the seed
-- body_spellings, exactly the spelling_normalised that ingest.text.normalise_greek made: the
-- referral-body join of fct_cc_services relies on it. Returns the spellings it gets wrong.
with

body_spellings as (

    select * from {{ ref('body_spellings') }}

),

normalised as (

    select
        spelling_raw,
        spelling_normalised,
        {{ normalise_greek('spelling_raw') }} as spelling_normalised_sql
    from body_spellings

)

select *
from normalised
where spelling_normalised_sql <> spelling_normalised
