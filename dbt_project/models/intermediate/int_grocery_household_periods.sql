-- One row per social-grocery household and reporting period (month, quarter, year) in which
-- the household had an approved membership active on at least one day (decision date to
-- membership end), with its size and minors from the latest such approval.
{{ config(**municipality_partitioned()) }}

with

periods as (

    select * from {{ ref('int_periods') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

grocery_decisions as (

    select * from {{ ref('fct_grocery_decisions') }}
    where is_approved and {{ in_municipality_partitions('municipality_code') }}

),

approved_overlaps as (

    select
        periods.period_type,
        periods.period_start,
        periods.period_end,
        grocery_decisions.household_id,
        grocery_decisions.municipality_code,
        grocery_decisions.neighbourhood_id,
        grocery_decisions.household_size,
        grocery_decisions.household_minors,
        row_number() over (
            partition by
                periods.period_type,
                periods.period_start,
                grocery_decisions.household_id,
                grocery_decisions.municipality_code
            order by grocery_decisions.decision_on desc, grocery_decisions.application_id desc
        ) as decision_rank
    from grocery_decisions
    inner join periods
        on
            grocery_decisions.municipality_code = periods.municipality_code
            and grocery_decisions.decision_on <= periods.period_end
            and (
                grocery_decisions.membership_end_on is null
                or grocery_decisions.membership_end_on >= periods.period_start
            )

),

final as (

    select
        period_type,
        period_start,
        period_end,
        household_id,
        municipality_code,
        neighbourhood_id,
        household_size,
        household_minors
    from approved_overlaps
    where decision_rank = 1

)

select * from final
