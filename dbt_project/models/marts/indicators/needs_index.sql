-- The neighbourhood needs index (indicators.md), per municipality, neighbourhood and calendar
-- year, in the manner of the English IMD and Scotland's SIMD:
--   0. small-area counts are stabilised as the IMD does: the counts of the year and the two
--      before it are pooled (dbt variable needs_index_pooled_years, default 3; years_pooled
--      says how many were available) and each rate is shrunk toward the municipality's rate
--      by empirical Bayes (Marshall 1991), so a neighbourhood of 70 households does not rank
--      on two events;
--   1. each indicator of the index (catalogue: in_needs_index) is ranked across the
--      municipality's neighbourhoods (ties share their average rank, higher value = more need)
--      and turned into a normal score Φ⁻¹(r / (n + 1));
--   2. a domain's score is the weighted sum of its indicators' normal scores (catalogue
--      needs_index_weight, re-normalised over the indicators with a value);
--   3. domain scores are ranked, scaled to R in (0, 1] (most deprived = 1) and transformed
--      X = −23·ln(1 − R·(1 − e^(−100/23))), so that X runs from near 0 to 100 and high need in
--      one domain is not cancelled by low need in another;
--   4. the index is the sum of X over domains weighted by needs_index_domains.domain_weight.
-- Rank 1 and quintile 1 are the most deprived. Values are the unsuppressed internal rates: the
-- index publishes ranks and transformed scores, never counts. Every domain's score, rank and
-- transformed score stand beside the index, so that a planner sees why an area ranks where it
-- does.
{%- set domains = ['material_need', 'care_need', 'social_exclusion'] %}
{%- set pooled_years = var('needs_index_pooled_years', 3) %}

{{ config(**municipality_partitioned()) }}

with

catalogue as (

    select * from {{ ref('indicator_catalogue') }}
    where in_needs_index

),

domain_weights as (

    select * from {{ ref('needs_index_domains') }}

),

indicator_values as (

    select * from {{ ref('int_indicator_values') }}
    where area_level = 'neighbourhood' and period_type = 'year' and {{ in_municipality_partitions('municipality_code') }}

),

annual as (

    select
        indicator_values.municipality_code,
        indicator_values.area_id as neighbourhood_id,
        indicator_values.period_start,
        indicator_values.period_end,
        indicator_values.indicator_id,
        catalogue.needs_index_domain,
        catalogue.needs_index_weight,
        indicator_values.numerator,
        indicator_values.denominator
    from indicator_values
    inner join catalogue
        on indicator_values.indicator_id = catalogue.indicator_id
    where indicator_values.denominator > 0

),

pooled as (

    -- the index of year Y pools the counts of Y and the {{ pooled_years - 1 }} years before it
    -- that have data (small areas: one year's counts are too few to rank on)
    select
        annual.municipality_code,
        annual.neighbourhood_id,
        annual.period_start,
        annual.period_end,
        annual.indicator_id,
        annual.needs_index_domain,
        annual.needs_index_weight,
        sum(earlier.numerator) as numerator,
        sum(earlier.denominator) as denominator,
        count(*) as years_pooled
    from annual
    inner join annual as earlier
        on
            annual.indicator_id = earlier.indicator_id
            and annual.neighbourhood_id = earlier.neighbourhood_id
            and earlier.period_start <= annual.period_start
            and earlier.period_start > {{ dbt.dateadd('year', -pooled_years, 'annual.period_start') }}
    group by
        annual.municipality_code,
        annual.neighbourhood_id,
        annual.period_start,
        annual.period_end,
        annual.indicator_id,
        annual.needs_index_domain,
        annual.needs_index_weight

),

municipal as (

    select
        municipality_code,
        period_start,
        indicator_id,
        {{ stats_as_double('sum(numerator)') }} / sum(denominator) as municipal_rate,
        {{ stats_as_double('sum(denominator)') }} / count(*) as mean_denominator
    from pooled
    group by municipality_code, period_start, indicator_id

),

dispersion as (

    -- Marshall's (1991) moment estimate of the between-area variance of the true rates:
    -- the population-weighted variance of the observed rates less the Poisson part
    select
        pooled.municipality_code,
        pooled.period_start,
        pooled.indicator_id,
        sum(pooled.denominator * (pooled.numerator / pooled.denominator - municipal.municipal_rate)
            * (pooled.numerator / pooled.denominator - municipal.municipal_rate))
            / sum(pooled.denominator)
            - max(municipal.municipal_rate) / max(municipal.mean_denominator) as between_variance
    from pooled
    inner join municipal
        on
            pooled.municipality_code = municipal.municipality_code
            and pooled.period_start = municipal.period_start
            and pooled.indicator_id = municipal.indicator_id
    group by pooled.municipality_code, pooled.period_start, pooled.indicator_id

),

inputs as (

    -- empirical Bayes shrinkage of each rate toward the municipality's, by its reliability
    -- tau² / (tau² + m / n): a small area's extreme rate moves most
    select
        pooled.municipality_code,
        pooled.neighbourhood_id,
        pooled.period_start,
        pooled.period_end,
        pooled.indicator_id,
        pooled.needs_index_domain,
        pooled.needs_index_weight,
        pooled.years_pooled,
        case
            when municipal.municipal_rate <= 0 or dispersion.between_variance <= 0
                then municipal.municipal_rate
            else
                municipal.municipal_rate
                + (pooled.numerator / pooled.denominator - municipal.municipal_rate)
                * dispersion.between_variance
                / (dispersion.between_variance + municipal.municipal_rate / pooled.denominator)
        end as value
    from pooled
    inner join municipal
        on
            pooled.municipality_code = municipal.municipality_code
            and pooled.period_start = municipal.period_start
            and pooled.indicator_id = municipal.indicator_id
    inner join dispersion
        on
            pooled.municipality_code = dispersion.municipality_code
            and pooled.period_start = dispersion.period_start
            and pooled.indicator_id = dispersion.indicator_id

),

ranked as (

    select
        inputs.*,
        -- average rank of ties: (first rank + last rank) / 2
        (
            rank() over (
                partition by municipality_code, period_start, indicator_id
                order by value asc
            )
            + rank() over (
                partition by municipality_code, period_start, indicator_id
                order by value desc
            ) * -1
            + count(*) over (partition by municipality_code, period_start, indicator_id)
            + 1
        ) / 2.0 as value_rank,
        count(*) over (partition by municipality_code, period_start, indicator_id)
            as areas_ranked
    from inputs

),

normal_scores as (

    select
        ranked.*,
        {{ normal_quantile('value_rank / (areas_ranked + 1.0)') }} as normal_score
    from ranked

),

domain_scores as (

    select
        municipality_code,
        neighbourhood_id,
        period_start,
        period_end,
        needs_index_domain,
        sum(needs_index_weight * normal_score) / sum(needs_index_weight) as domain_score,
        count(*) as indicators_used,
        min(years_pooled) as years_pooled
    from normal_scores
    group by municipality_code, neighbourhood_id, period_start, period_end, needs_index_domain

),

domain_ranked as (

    select
        domain_scores.*,
        (
            rank() over (
                partition by municipality_code, period_start, needs_index_domain
                order by domain_score asc
            )
            - rank() over (
                partition by municipality_code, period_start, needs_index_domain
                order by domain_score desc
            )
            + count(*) over (partition by municipality_code, period_start, needs_index_domain)
            + 1
        ) / 2.0 as domain_rank_ascending,
        count(*) over (partition by municipality_code, period_start, needs_index_domain)
            as domain_areas
    from domain_scores

),

domain_transformed as (

    select
        domain_ranked.*,
        -23 * ln(1 - (domain_rank_ascending / domain_areas) * (1 - exp(-100.0 / 23)))
            as domain_exponential_score
    from domain_ranked

),

combined as (

    select
        domain_transformed.municipality_code,
        domain_transformed.neighbourhood_id,
        domain_transformed.period_start,
        domain_transformed.period_end,
        sum(domain_weights.domain_weight * domain_transformed.domain_exponential_score)
            / sum(domain_weights.domain_weight) as score,
        count(*) as domains_used,
        min(domain_transformed.years_pooled) as years_pooled,
        {%- for d in domains %}
        max(case when domain_transformed.needs_index_domain = '{{ d }}' then domain_transformed.domain_score end)
            as {{ d }}_score,
        max(case when domain_transformed.needs_index_domain = '{{ d }}' then domain_transformed.domain_exponential_score end)
            as {{ d }}_exponential_score,
        max(case when domain_transformed.needs_index_domain = '{{ d }}'
            then domain_transformed.domain_areas + 1 - domain_transformed.domain_rank_ascending end)
            as {{ d }}_rank{{ ',' if not loop.last }}
        {%- endfor %}
    from domain_transformed
    inner join domain_weights
        on domain_transformed.needs_index_domain = domain_weights.needs_index_domain
    group by
        domain_transformed.municipality_code,
        domain_transformed.neighbourhood_id,
        domain_transformed.period_start,
        domain_transformed.period_end

),

final as (

    select
        municipality_code,
        neighbourhood_id,
        extract(year from period_start) as year,
        period_start,
        period_end,
        score,
        row_number() over (
            partition by municipality_code, period_start
            order by score desc, neighbourhood_id
        ) as rank,
        ntile(5) over (
            partition by municipality_code, period_start
            order by score desc, neighbourhood_id
        ) as quintile,
        count(*) over (partition by municipality_code, period_start) as neighbourhoods_ranked,
        domains_used,
        years_pooled,
        {%- for d in domains %}
        {{ d }}_score,
        {{ d }}_rank,
        {{ d }}_exponential_score{{ ',' if not loop.last }}
        {%- endfor %}
    from combined

)

select * from final
