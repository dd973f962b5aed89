{{ config(materialized='view', schema='methods', tags=['methods']) }}
{#-
  Input schema (no rows) for the dbt unit tests of the statistical macros: the unit tests in
  _methods__models.yml give its rows. One row per case and confidence level, with the values
  the macros should return, worked out independently (tests/unit/test_stats_reference.py).
  For dsr aggregates a case is several rows (one per age band); its expected_* are on one row.
-#}
select
    cast(null as {{ dbt.type_string() }}) as case_id,
    cast(null as {{ stats_double_type() }}) as confidence,
    cast(null as {{ dbt.type_bigint() }}) as x,
    cast(null as {{ dbt.type_bigint() }}) as n,
    cast(null as {{ dbt.type_bigint() }}) as multiplier,
    cast(null as {{ dbt.type_bigint() }}) as standard_population,
    cast(null as {{ stats_double_type() }}) as dsr,
    cast(null as {{ stats_double_type() }}) as dsr_variance,
    cast(null as {{ stats_double_type() }}) as probability,
    cast(null as {{ stats_double_type() }}) as expected_value,
    cast(null as {{ stats_double_type() }}) as expected_variance,
    cast(null as {{ stats_double_type() }}) as expected_lower,
    cast(null as {{ stats_double_type() }}) as expected_upper
where 1 = 0
