-- Secondary suppression works: no additive relation of the published indicator values (an
-- area and its child areas, the nation and its municipalities; a quarter and its months, a
-- year and its quarters) has exactly
-- one suppressed cell, which could be worked out from the others. Fails with the relations
-- that do (raise the dbt variable disclosure_rounds if the hierarchy is deeper).
with

relations as (

    -- inside the municipalities this build recomputed (all, on a full build), and nationally
    select
        group_id,
        indicator_id,
        area_level,
        area_id,
        period_start,
        period_end
    from {{ ref('int_disclosure_relations') }}
    where {{ in_municipality_partitions('municipality_code', for_test=true) }}
    union all
    select
        group_id,
        indicator_id,
        area_level,
        area_id,
        period_start,
        period_end
    from {{ ref('int_disclosure_relations_national') }}

),

published as (

    select * from {{ ref('indicator_values') }}

),

joined as (

    select
        relations.group_id,
        -- a residual (records with no neighbourhood) is never published
        coalesce(published.suppressed, relations.area_level = 'residual') as suppressed
    from relations
    left join published
        on
            relations.indicator_id = published.indicator_id
            and relations.area_level = published.area_level
            and relations.area_id = published.area_id
            and relations.period_start = published.period_start
            and relations.period_end = published.period_end

)

select
    group_id,
    count(*) as cells,
    sum(case when suppressed then 1 else 0 end) as suppressed_cells
from joined
where suppressed is not null
group by group_id
having sum(case when suppressed then 1 else 0 end) = 1
