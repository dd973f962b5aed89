-- One row per indicator, area (every level) and period that has at least one counted person,
-- household, event or file row: the numerator, the denominator where it is counted from the
-- same records (beneficiaries, requests, referrals, rows), and the value where it is not a
-- ratio (the median). Definitions: the indicator catalogue (seed indicator_catalogue); every
-- count places a person or event in one neighbourhood per period, unassigned ones in the
-- municipality only. Areas and periods with nothing to count are filled with zeros downstream.
-- Built by municipality (incremental, macro municipality_partitioned): the national level is
-- summed from the municipality rows in int_indicator_counts_national.
{{ config(**municipality_partitioned()) }}

with

periods as (

    select * from {{ ref('int_periods') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

neighbourhood_areas as (

    select * from {{ ref('int_neighbourhood_areas') }}
    where area_level <> 'national' and {{ in_municipality_partitions('municipality_code') }}

),

activity as (

    select * from {{ ref('int_person_period_activity') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

cc_active as (

    select * from activity
    where structure = 'community_centre'

),

hh_active as (

    select * from activity
    where structure = 'home_help'

),

grocery_households as (

    select * from {{ ref('int_grocery_household_periods') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

multi_service_ranked as (

    select
        period_type,
        period_start,
        person_id,
        municipality_code,
        neighbourhood_id,
        count(*) over (
            partition by period_type, period_start, person_id, municipality_code
        ) as structures_count,
        row_number() over (
            partition by period_type, period_start, person_id, municipality_code
            order by
                case when neighbourhood_id is null then 1 else 0 end,
                last_activity_on desc,
                structure
        ) as recency_rank
    from activity

),

multi_service as (

    -- persons active in two or more structures in the period, in the neighbourhood of their
    -- latest activity (a known neighbourhood first)
    select
        period_type,
        period_start,
        person_id,
        municipality_code,
        neighbourhood_id
    from multi_service_ranked
    where structures_count >= 2 and recency_rank = 1

),

services as (

    select
        periods.period_type,
        periods.period_start,
        fct.municipality_code,
        fct.neighbourhood_id,
        fct.is_referral,
        fct.referral_status
    from {{ ref('fct_cc_services') }} as fct
    inner join periods
        on
            fct.municipality_code = periods.municipality_code
            and fct.service_on between periods.period_start and periods.period_end

),

first_registrations as (

    select
        periods.period_type,
        periods.period_start,
        fct.municipality_code,
        fct.neighbourhood_id
    from {{ ref('fct_cc_registrations') }} as fct
    inner join periods
        on
            fct.municipality_code = periods.municipality_code
            and fct.registered_on between periods.period_start and periods.period_end
    where fct.is_first_registration

),

requests_made as (

    select
        periods.period_type,
        periods.period_start,
        fct.municipality_code,
        fct.neighbourhood_id,
        fct.request_status,
        fct.fulfilled_on,
        fct.days_to_fulfil
    from {{ ref('fct_call_centre_requests') }} as fct
    inner join periods
        on
            fct.municipality_code = periods.municipality_code
            and fct.requested_on between periods.period_start and periods.period_end

),

requests_fulfilled as (

    {{ requests_fulfilled_in_periods('periods') }}

),

requests_open as (

    -- made by the period end and not fulfilled by then (rejected ones are closed; the export
    -- gives no rejection date)
    select
        periods.period_type,
        periods.period_start,
        fct.municipality_code,
        fct.neighbourhood_id
    from {{ ref('fct_call_centre_requests') }} as fct
    inner join periods
        on
            fct.municipality_code = periods.municipality_code
            and fct.requested_on <= periods.period_end
    where
        coalesce(fct.request_status, 'new') <> 'rejected'
        and (fct.fulfilled_on is null or fct.fulfilled_on > periods.period_end)
        and not (fct.request_status = 'fulfilled' and fct.fulfilled_on is null)

),

data_quality as (

    select
        periods.period_type,
        periods.period_start,
        dq.municipality_code,
        cast(null as {{ dbt.type_string() }}) as neighbourhood_id,
        dq.source,
        dq.rows_read,
        dq.rows_rejected,
        dq.rows_with_address,
        dq.rows_unassigned,
        dq.rows_with_amka_column,
        dq.rows_without_valid_amka
    from {{ ref('data_quality') }} as dq
    inner join periods
        on
            dq.municipality_code = periods.municipality_code
            and dq.period_month between periods.period_start and periods.period_end

),

unioned as (

    -- poverty and material need
    {{ indicator_rollup('sg_households_per_1000_households', 'grocery_households', 'count(*)') }}
    union all
    {{ indicator_rollup('sg_persons_per_1000', 'grocery_households', 'sum(coalesce(household_size, 1))') }}
    union all
    {{ indicator_rollup('sg_children_per_1000_aged_0_17', 'grocery_households', 'sum(coalesce(household_minors, 0))') }}
    union all
    {{ indicator_rollup('cc_kea_beneficiaries_per_1000', 'cc_active',
        'sum(case when is_kea_recipient then 1 else 0 end)') }}
    union all
    {{ indicator_rollup('cc_unemployed_share', 'cc_active',
        "sum(case when employment_status in ('unemployed', 'long_term_unemployed') then 1 else 0 end)",
        'sum(case when employment_status is not null then 1 else 0 end)') }}
    union all
    {{ indicator_rollup('cc_long_term_unemployed_share', 'cc_active',
        "sum(case when employment_status = 'long_term_unemployed' then 1 else 0 end)",
        'sum(case when employment_status is not null then 1 else 0 end)') }}
    union all

    -- care and ageing
    {{ indicator_rollup('hh_clients_per_1000_aged_65_plus', 'hh_active',
        'sum(case when age_at_period_end >= 65 then 1 else 0 end)') }}
    union all
    {{ indicator_rollup('hh_clients_living_alone_share', 'hh_active',
        'sum(case when is_living_alone then 1 else 0 end)',
        'sum(case when is_living_alone is not null then 1 else 0 end)') }}
    union all
    {{ indicator_rollup('hh_requests_per_1000_aged_65_plus', 'requests_made', 'count(*)') }}
    union all
    {{ indicator_rollup('hh_requests_fulfilled_within_7_days_share', 'requests_made',
        "sum(case when request_status = 'fulfilled' and days_to_fulfil <= 7 then 1 else 0 end)",
        "sum(case when coalesce(request_status, 'new') <> 'rejected' then 1 else 0 end)") }}
    union all
    {{ indicator_rollup('hh_request_days_to_fulfil_median', 'requests_fulfilled',
        'null', 'count(*)', median('days_to_fulfil')) }}
    union all
    {{ indicator_rollup('hh_requests_open_at_period_end', 'requests_open', 'count(*)') }}
    union all

    -- social inclusion and access
    {{ indicator_rollup('cc_contacts_per_1000', 'services', 'count(*)') }}
    union all
    {{ indicator_rollup('cc_new_registrations', 'first_registrations', 'count(*)') }}
    union all
    {{ indicator_rollup('cc_referrals_per_beneficiary', 'services',
        'sum(case when is_referral then 1 else 0 end)') }}
    union all
    -- its denominator, active beneficiaries, comes from other rows: summed in `final`
    {{ indicator_rollup('cc_referrals_per_beneficiary', 'cc_active', '0', 'count(*)') }}
    union all
    {{ indicator_rollup('cc_referrals_completed_share', 'services',
        "sum(case when is_referral and referral_status = 'completed' then 1 else 0 end)",
        'sum(case when is_referral then 1 else 0 end)') }}
    union all
    {%- for indicator_id, flag in [
        ('cc_roma_beneficiaries_per_1000', 'is_roma'),
        ('cc_migrant_refugee_beneficiaries_per_1000', 'is_migrant_or_refugee'),
        ('cc_disability_beneficiaries_per_1000', 'has_disability'),
        ('cc_homeless_beneficiaries_per_1000', 'is_homeless'),
        ('cc_single_parent_beneficiaries_per_1000', 'is_single_parent'),
    ] %}
    {{ indicator_rollup(indicator_id, 'cc_active', 'sum(case when ' ~ flag ~ ' then 1 else 0 end)') }}
    union all
    {%- endfor %}
    {{ indicator_rollup('multi_service_users_per_1000', 'multi_service', 'count(*)') }}
    {%- for source in ['community_centre', 'social_grocery', 'home_help'] %}
    union all
    {{ indicator_rollup('dq_rejected_rows_share_' ~ source, 'data_quality',
        'sum(rows_rejected)', 'sum(rows_read)', where="data_quality.source = '" ~ source ~ "'") }}
    union all
    {{ indicator_rollup('dq_unassigned_addresses_share_' ~ source, 'data_quality',
        'sum(rows_unassigned)', 'sum(rows_with_address)', where="data_quality.source = '" ~ source ~ "'") }}
    union all
    {{ indicator_rollup('dq_invalid_amka_share_' ~ source, 'data_quality',
        'sum(rows_without_valid_amka)', 'sum(rows_with_amka_column)', where="data_quality.source = '" ~ source ~ "'") }}
    {%- endfor %}

),

final as (

    select
        indicator_id,
        area_level,
        area_id,
        municipality_code,
        period_type,
        period_start,
        sum(numerator) as numerator,
        sum(denominator_count) as denominator_count,
        max(value_direct) as value_direct
    from unioned
    group by indicator_id, area_level, area_id, municipality_code, period_type, period_start

)

select * from final
