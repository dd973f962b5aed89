-- Trend of each indicator and area over its last five annual values (indicators.md): a
-- weighted least-squares slope of value on year, each point weighted by the inverse of its
-- variance (from the 95% interval: se = (upper − lower) / (2 × 1.959964)). The trend is
-- significant only if the slope's chi-square, slope² / var(slope), exceeds the 99.8% critical
-- value of chi-square with 1 degree of freedom (3.090232² ≈ 9.55) and the slope keeps its sign
-- whichever one of the five points is left out. Only complete calendar years with a published
-- (unsuppressed) value and an interval count; an area with fewer than five such years gets
-- trend = 'not_enough_points'.
-- Built by municipality (incremental): an area's trend depends on its municipality's values
-- alone; the national level's (municipality_code null) is recomputed on every run.
{%- set z95 = z_value(0.95) %}
{%- set critical = z_value(0.998) * z_value(0.998) %}
{{ config(**municipality_partitioned()) }}

with

indicator_values as (

    select * from {{ ref('indicator_values') }}

),

catalogue as (

    select * from {{ ref('indicator_catalogue') }}

),

areas as (

    select
        area_level,
        area_id,
        municipality_code
    from {{ ref('int_areas') }}
    where {{ in_municipality_partitions('municipality_code', national=true) }}

),

years as (

    -- complete calendar years of the area's municipality (of any municipality, nationally)
    select
        municipality_code,
        period_start,
        period_end
    from {{ ref('int_periods') }}
    where period_type = 'year' and is_complete
    union all
    select
        cast(null as {{ dbt.type_string() }}) as municipality_code,
        period_start,
        period_end
    from {{ ref('int_periods_national') }}
    where period_type = 'year' and is_complete

),

annual as (

    select
        indicator_values.indicator_id,
        indicator_values.area_level,
        indicator_values.area_id,
        areas.municipality_code,
        extract(year from indicator_values.period_start) as year,
        indicator_values.value,
        (indicator_values.upper_95 - indicator_values.lower_95) / (2 * {{ z95 }}) as standard_error
    from indicator_values
    inner join areas
        on
            indicator_values.area_level = areas.area_level
            and indicator_values.area_id = areas.area_id
    inner join years
        on
            coalesce(areas.municipality_code, '{{ national_area_id() }}')
            = coalesce(years.municipality_code, '{{ national_area_id() }}')
            and indicator_values.period_start = years.period_start
            and indicator_values.period_end = years.period_end

),

latest_five as (

    select
        annual.*,
        row_number() over (
            partition by indicator_id, area_level, area_id
            order by year desc
        ) as recency,
        max(year) over (partition by indicator_id, area_level, area_id) as last_year
    from annual

),

points as (

    select
        indicator_id,
        area_level,
        area_id,
        last_year,
        {{ stats_as_double('year') }} - last_year as t,
        value as y,
        1.0 / (standard_error * standard_error) as w
    from latest_five
    where
        recency <= 5
        and last_year - year < 5
        and value is not null
        and standard_error > 0

),

sums as (

    select
        indicator_id,
        area_level,
        area_id,
        last_year,
        count(*) as points,
        sum(w) as sw,
        sum(w * t) as swt,
        sum(w * y) as swy,
        sum(w * t * t) as swtt,
        sum(w * t * y) as swty
    from points
    group by indicator_id, area_level, area_id, last_year

),

fitted as (

    select
        sums.*,
        (sw * swty - swt * swy) / (sw * swtt - swt * swt) as slope,
        -- var(slope) = 1 / Σw(t − t̄)² = sw / (sw·swtt − swt²)
        sw / (sw * swtt - swt * swt) as slope_variance
    from sums
    where points = 5

),

leave_one_out as (

    select
        fitted.indicator_id,
        fitted.area_level,
        fitted.area_id,
        min(
            ((fitted.sw - points.w) * (fitted.swty - points.w * points.t * points.y)
                - (fitted.swt - points.w * points.t) * (fitted.swy - points.w * points.y))
            / ((fitted.sw - points.w) * (fitted.swtt - points.w * points.t * points.t)
                - (fitted.swt - points.w * points.t) * (fitted.swt - points.w * points.t))
        ) as min_slope_left_out,
        max(
            ((fitted.sw - points.w) * (fitted.swty - points.w * points.t * points.y)
                - (fitted.swt - points.w * points.t) * (fitted.swy - points.w * points.y))
            / ((fitted.sw - points.w) * (fitted.swtt - points.w * points.t * points.t)
                - (fitted.swt - points.w * points.t) * (fitted.swt - points.w * points.t))
        ) as max_slope_left_out
    from fitted
    inner join points
        on
            fitted.indicator_id = points.indicator_id
            and fitted.area_level = points.area_level
            and fitted.area_id = points.area_id
    group by fitted.indicator_id, fitted.area_level, fitted.area_id

),

areas_with_values as (

    select
        indicator_id,
        area_level,
        area_id,
        municipality_code,
        max(year) as last_year,
        sum(case when value is not null and standard_error > 0 then 1 else 0 end) as years_with_value
    from annual
    group by indicator_id, area_level, area_id, municipality_code

),

final as (

    select
        areas_with_values.indicator_id,
        areas_with_values.area_level,
        areas_with_values.area_id,
        areas_with_values.municipality_code,
        areas_with_values.last_year - 4 as first_year,
        areas_with_values.last_year,
        coalesce(fitted.points, 0) as points,
        fitted.slope as slope_per_year,
        sqrt(fitted.slope_variance) as slope_standard_error,
        fitted.slope * fitted.slope / fitted.slope_variance as chi_square,
        leave_one_out.min_slope_left_out,
        leave_one_out.max_slope_left_out,
        coalesce(
            fitted.slope * fitted.slope / fitted.slope_variance > {{ critical }}
            and (
                (fitted.slope > 0 and leave_one_out.min_slope_left_out > 0)
                or (fitted.slope < 0 and leave_one_out.max_slope_left_out < 0)
            ),
            false
        ) as is_significant,
        case
            when fitted.slope is null then 'not_enough_points'
            when not (
                fitted.slope * fitted.slope / fitted.slope_variance > {{ critical }}
                and (
                    (fitted.slope > 0 and leave_one_out.min_slope_left_out > 0)
                    or (fitted.slope < 0 and leave_one_out.max_slope_left_out < 0)
                )
            ) then 'no_significant_change'
            when fitted.slope > 0 then 'increasing'
            else 'decreasing'
        end as trend,
        catalogue.polarity
    from areas_with_values
    inner join catalogue
        on areas_with_values.indicator_id = catalogue.indicator_id
    left join fitted
        on
            areas_with_values.indicator_id = fitted.indicator_id
            and areas_with_values.area_level = fitted.area_level
            and areas_with_values.area_id = fitted.area_id
    left join leave_one_out
        on
            areas_with_values.indicator_id = leave_one_out.indicator_id
            and areas_with_values.area_level = leave_one_out.area_level
            and areas_with_values.area_id = leave_one_out.area_id

)

select
    final.*,
    case
        when trend not in ('increasing', 'decreasing') then trend
        when polarity = 'high_is_bad' and trend = 'increasing' then 'getting_worse'
        when polarity = 'high_is_bad' then 'getting_better'
        when polarity = 'high_is_good' and trend = 'increasing' then 'getting_better'
        when polarity = 'high_is_good' then 'getting_worse'
        else trend
    end as assessment
from final
