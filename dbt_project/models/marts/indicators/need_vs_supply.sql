-- Need against supply (indicators.md): for each service of the service catalogue marked
-- in_need_vs_supply, each neighbourhood and calendar year, the users observed against the
-- users expected from the municipality-wide use rate applied to the neighbourhood's own
-- population structure (indirect standardisation by sex and five-year age band; households for
-- the social grocery, whose users are households). The ratio observed / expected (an
-- indirectly standardised ratio; 1 = use as expected) has 95% and 99.8% intervals from the
-- Poisson limits of the observed count (Byar's for 10 or more, exact below). Users with no
-- known sex or age cannot be placed in a stratum: the expected counts are scaled up by the
-- municipality's share of such users so that expected and observed add up to the same total.
-- Only users placed in a neighbourhood count (the rates use the same users).
-- Flag: the neighbourhood's need (needs index, same year) is in the top two quintiles while its
-- use ratio is in the bottom two quintiles of the municipality's neighbourhoods.
-- Disclosure: observed counts from 1 to the threshold are suppressed with the ratio and its
-- interval (the mart has no totals from which a suppressed count could be worked out).
{%- set services = [
    ('community_centre.services', 'fct_cc_services', 'person_id', 'service_category', 'service_on'),
    ('social_grocery.distributions', 'fct_grocery_distributions', 'household_id', 'goods_category', 'distributed_on'),
    ('home_help.visits', 'fct_home_help_visits', 'person_id', 'service_type', 'visit_on'),
    ('home_help.requests', 'fct_call_centre_requests', 'person_id', 'need_type', 'requested_on'),
] %}

{{ config(**municipality_partitioned()) }}

with

service_catalogue as (

    select * from {{ ref('service_catalogue') }}
    where in_need_vs_supply

),

years as (

    select * from {{ ref('int_periods') }}
    where period_type = 'year' and {{ in_municipality_partitions('municipality_code') }}

),

persons as (

    select * from {{ ref('dim_person') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

bands as (

    select * from {{ ref('esp2013') }}

),

neighbourhoods as (

    select * from {{ ref('int_areas') }}
    where area_level = 'neighbourhood'

),

population as (

    select
        neighbourhood_id,
        sex,
        age_band,
        residents
    from {{ ref('stg_municipality__population') }}

),

households as (

    select * from {{ ref('stg_municipality__households') }}

),

needs_index as (

    select * from {{ ref('needs_index') }}
    where {{ in_municipality_partitions('municipality_code') }}

),

uses as (

    {%- for source_entity, model, unit, code_column, date_column in services %}
    select distinct
        cast('{{ source_entity }}' as {{ dbt.type_string() }}) as source_entity,
        fct.{{ code_column }} as code,
        years.period_start,
        years.period_end,
        fct.municipality_code,
        fct.neighbourhood_id,
        fct.{{ unit }} as user_id,
        {{ 'true' if unit == 'household_id' else 'false' }} as is_household
    from {{ ref(model) }} as fct
    inner join years
        on
            fct.municipality_code = years.municipality_code
            and fct.{{ date_column }} between years.period_start and years.period_end
    where fct.neighbourhood_id is not null and fct.{{ unit }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

users as (

    -- one user per service, year and neighbourhood (the latest neighbourhood would need a
    -- choice; a user who moved counts in each neighbourhood they were served in)
    select
        service_catalogue.service_id,
        uses.period_start,
        uses.period_end,
        uses.municipality_code,
        uses.neighbourhood_id,
        uses.user_id,
        uses.is_household,
        case when uses.is_household then 'all' else persons.sex end as sex,
        case when uses.is_household then 'all' else bands.age_band end as age_band
    from uses
    inner join service_catalogue
        on
            uses.source_entity = service_catalogue.source_entity
            and uses.code = service_catalogue.code
    left join persons
        on
            not uses.is_household
            and uses.user_id = persons.person_id
            and uses.municipality_code = persons.municipality_code
    left join bands
        on
            not uses.is_household
            and extract(year from uses.period_end) - persons.birth_year >= bands.age_from
            and (
                bands.age_to is null
                or extract(year from uses.period_end) - persons.birth_year <= bands.age_to
            )

),

strata_population as (

    select
        neighbourhoods.municipality_code,
        population.neighbourhood_id,
        population.sex,
        population.age_band,
        cast(population.residents as {{ stats_double_type() }}) as population
    from population
    inner join neighbourhoods
        on population.neighbourhood_id = neighbourhoods.area_id
    union all
    select
        neighbourhoods.municipality_code,
        households.neighbourhood_id,
        cast('all' as {{ dbt.type_string() }}) as sex,
        cast('all' as {{ dbt.type_string() }}) as age_band,
        cast(households.households as {{ stats_double_type() }}) as population
    from households
    inner join neighbourhoods
        on households.neighbourhood_id = neighbourhoods.area_id

),

municipal_strata_population as (

    select
        municipality_code,
        sex,
        age_band,
        sum(population) as population
    from strata_population
    group by municipality_code, sex, age_band

),

municipal_rates as (

    select
        users.service_id,
        users.period_start,
        users.municipality_code,
        users.sex,
        users.age_band,
        count(*) / max(municipal_strata_population.population) as stratum_rate
    from users
    inner join municipal_strata_population
        on
            users.municipality_code = municipal_strata_population.municipality_code
            and users.sex = municipal_strata_population.sex
            and users.age_band = municipal_strata_population.age_band
    where municipal_strata_population.population > 0
    group by users.service_id, users.period_start, users.municipality_code, users.sex, users.age_band

),

municipal_totals as (

    select
        service_id,
        period_start,
        municipality_code,
        count(*) as users_total,
        sum(case when sex is not null and age_band is not null then 1 else 0 end) as users_in_strata
    from users
    group by service_id, period_start, municipality_code

),

scaffold as (

    select
        service_catalogue.service_id,
        service_catalogue.target_population,
        years.period_start,
        years.period_end,
        neighbourhoods.municipality_code,
        neighbourhoods.area_id as neighbourhood_id
    from service_catalogue
    cross join years
    inner join neighbourhoods
        on years.municipality_code = neighbourhoods.municipality_code

),

expected as (

    select
        scaffold.service_id,
        scaffold.period_start,
        scaffold.neighbourhood_id,
        sum(municipal_rates.stratum_rate * strata_population.population)
            * max(municipal_totals.users_total)
            / max(municipal_totals.users_in_strata) as expected_users
    from scaffold
    inner join strata_population
        on scaffold.neighbourhood_id = strata_population.neighbourhood_id
    inner join municipal_rates
        on
            scaffold.service_id = municipal_rates.service_id
            and scaffold.period_start = municipal_rates.period_start
            and scaffold.municipality_code = municipal_rates.municipality_code
            and strata_population.sex = municipal_rates.sex
            and strata_population.age_band = municipal_rates.age_band
    inner join municipal_totals
        on
            scaffold.service_id = municipal_totals.service_id
            and scaffold.period_start = municipal_totals.period_start
            and scaffold.municipality_code = municipal_totals.municipality_code
    where municipal_totals.users_in_strata > 0
    group by scaffold.service_id, scaffold.period_start, scaffold.neighbourhood_id

),

observed as (

    select
        service_id,
        period_start,
        neighbourhood_id,
        count(*) as observed_users
    from users
    group by service_id, period_start, neighbourhood_id

),

ratios as (

    select
        scaffold.service_id,
        scaffold.municipality_code,
        scaffold.neighbourhood_id,
        scaffold.period_start,
        scaffold.period_end,
        coalesce(observed.observed_users, 0) as observed_users,
        coalesce(expected.expected_users, 0) as expected_users
    from scaffold
    left join observed
        on
            scaffold.service_id = observed.service_id
            and scaffold.period_start = observed.period_start
            and scaffold.neighbourhood_id = observed.neighbourhood_id
    left join expected
        on
            scaffold.service_id = expected.service_id
            and scaffold.period_start = expected.period_start
            and scaffold.neighbourhood_id = expected.neighbourhood_id

),

with_intervals as (

    select
        ratios.*,
        case when expected_users > 0 then observed_users / expected_users end as ratio,
        {%- for c, suffix in [(0.95, '95'), (0.998, '998')] %}
        case when expected_users > 0
            then {{ rate_ci_lower('observed_users', 'expected_users', 1, c) }} end as lower_{{ suffix }},
        case when expected_users > 0
            then {{ rate_ci_upper('observed_users', 'expected_users', 1, c) }} end as upper_{{ suffix }},
        {%- endfor %}
        {{ is_small_count('observed_users') }} as suppressed
    from ratios

),

ranked as (

    select
        with_intervals.*,
        ntile(5) over (
            partition by service_id, municipality_code, period_start
            order by ratio asc, neighbourhood_id
        ) as use_quintile_from_lowest
    from with_intervals
    where expected_users > 0

),

final as (

    select
        with_intervals.service_id,
        with_intervals.municipality_code,
        with_intervals.neighbourhood_id,
        extract(year from with_intervals.period_start) as year,
        with_intervals.period_start,
        with_intervals.period_end,
        case when with_intervals.suppressed then null else with_intervals.observed_users end
            as observed_users,
        with_intervals.expected_users,
        case when with_intervals.suppressed then null else with_intervals.ratio end as ratio,
        case when with_intervals.suppressed then null else with_intervals.lower_95 end as lower_95,
        case when with_intervals.suppressed then null else with_intervals.upper_95 end as upper_95,
        case when with_intervals.suppressed then null else with_intervals.lower_998 end as lower_998,
        case when with_intervals.suppressed then null else with_intervals.upper_998 end as upper_998,
        with_intervals.suppressed,
        case
            when with_intervals.suppressed or with_intervals.ratio is null then 'not_compared'
            when with_intervals.lower_998 > 1 then 'much_higher'
            when with_intervals.upper_998 < 1 then 'much_lower'
            when with_intervals.lower_95 > 1 then 'higher'
            when with_intervals.upper_95 < 1 then 'lower'
            else 'similar'
        end as use_compared_to_expected,
        needs_index.quintile as need_quintile,
        ranked.use_quintile_from_lowest,
        coalesce(needs_index.quintile <= 2 and ranked.use_quintile_from_lowest <= 2, false)
            as is_high_need_low_use
    from with_intervals
    left join ranked
        on
            with_intervals.service_id = ranked.service_id
            and with_intervals.neighbourhood_id = ranked.neighbourhood_id
            and with_intervals.period_start = ranked.period_start
    left join needs_index
        on
            with_intervals.neighbourhood_id = needs_index.neighbourhood_id
            and with_intervals.period_start = needs_index.period_start

)

select * from final
