{#-
  Disclosure control: primary and secondary cell suppression, as one reusable step.

  is_small_count(count, threshold) -> SQL boolean
      true when 1 <= count <= threshold (a count of 0 is published: it discloses nothing about
      a person). threshold defaults to the dbt variable disclosure_threshold (10).

  disclosure_suppression(cells, groups, rounds=4, links=none) -> CTE definitions (place inside a WITH, after
  the CTEs they name; the last CTE is `disclosure_final`)
      cells:  a CTE with one row per published cell: cell_id (unique), cell_count (the count
              whose disclosure is controlled), is_primary_suppressed (boolean: a small count, or
              a value not published for another reason).
      groups: a CTE with one row per cell and additive relation it belongs to: group_id,
              cell_id, is_total (true for the total of the relation, false for its parts). A
              relation is a total and the parts that add up to it, e.g. a community and its
              neighbourhoods for one indicator and period, or a quarter and its months for one
              area.
      links:  optional CTE (cell_id, linked_cell_id): the cell must be suppressed whenever the
              linked cell is (its value would reveal the linked cell's count).
      frozen: optional boolean column of `cells`: a frozen cell keeps the suppression it comes
              with (decided in an earlier step, e.g. a municipality's own cells when the
              national level is added) and is never chosen as a complement.
      priority: optional numeric column of `cells`: complements are chosen among the lowest
              priority first (e.g. a national cell whose own relation with the municipalities
              is already protected by a suppressed municipality), then by count.
      Output `disclosure_final`: cell_id, is_suppressed, suppression ('primary', 'secondary' or
      null).

  Secondary suppression: a relation with exactly one suppressed cell lets that cell be worked
  out from the others (total = sum of parts). Each round, in every such relation, one more cell
  is suppressed: the unsuppressed part with the smallest non-zero count (ties: cell_id), else the
  total. A cell made suppressed in one relation can leave another relation with one suppressed
  cell, so rounds repeat; `rounds` must be enough for the hierarchy's depth (the data test
  no_recoverable_suppressed_cells checks that no relation is left with exactly one). This is the
  hypercube-style heuristic of statistical offices, not an optimal (linear-programming) pattern:
  it may suppress more than needed, never knowingly less within one relation; combinations of
  several relations (e.g. solving a system of equations) are not guarded against.
-#}

{% macro is_small_count(count, threshold=none) -%}
    {%- set t = threshold if threshold is not none else var('disclosure_threshold', 10) -%}
    (({{ count }}) >= 1 and ({{ count }}) <= ({{ t }}))
{%- endmacro %}


{% macro disclosure_suppression(cells, groups, rounds=4, links=none, frozen=none, priority=none) -%}
disclosure_round_0 as (

    select
        cell_id,
        cell_count,
        is_primary_suppressed as is_suppressed,
        is_primary_suppressed,
        {{ frozen if frozen is not none else 'false' }} as is_frozen,
        {{ priority if priority is not none else '0' }} as candidate_priority
    from {{ cells }}

),
{%- for r in range(1, rounds + 1) %}
{%- set prev = 'disclosure_round_' ~ (r - 1) %}

disclosure_unsafe_{{ r }} as (

    select {{ groups }}.group_id
    from {{ groups }}
    inner join {{ prev }}
        on {{ groups }}.cell_id = {{ prev }}.cell_id
    group by {{ groups }}.group_id
    having sum(case when {{ prev }}.is_suppressed then 1 else 0 end) = 1

),

disclosure_candidates_{{ r }} as (

    select
        {{ groups }}.group_id,
        {{ groups }}.cell_id,
        row_number() over (
            partition by {{ groups }}.group_id
            order by
                {{ prev }}.candidate_priority,
                case when {{ groups }}.is_total then 1 else 0 end,
                case when {{ prev }}.cell_count > 0 then 0 else 1 end,
                {{ prev }}.cell_count,
                {{ groups }}.cell_id
        ) as candidate_rank
    from {{ groups }}
    inner join disclosure_unsafe_{{ r }}
        on {{ groups }}.group_id = disclosure_unsafe_{{ r }}.group_id
    inner join {{ prev }}
        on {{ groups }}.cell_id = {{ prev }}.cell_id
    where not {{ prev }}.is_suppressed
        and not {{ prev }}.is_frozen
        and ({{ groups }}.is_total or {{ prev }}.cell_count > 0)

),

disclosure_added_{{ r }} as (

    select distinct cell_id
    from disclosure_candidates_{{ r }}
    where candidate_rank = 1
    {%- if links is not none %}
    union
    select {{ links }}.cell_id
    from {{ links }}
    inner join {{ prev }}
        on {{ links }}.linked_cell_id = {{ prev }}.cell_id
    inner join {{ prev }} as disclosure_linked_{{ r }}
        on {{ links }}.cell_id = disclosure_linked_{{ r }}.cell_id
    where {{ prev }}.is_suppressed and not disclosure_linked_{{ r }}.is_frozen
    {%- endif %}

),

disclosure_round_{{ r }} as (

    select
        {{ prev }}.cell_id,
        {{ prev }}.cell_count,
        {{ prev }}.is_suppressed or disclosure_added_{{ r }}.cell_id is not null as is_suppressed,
        {{ prev }}.is_primary_suppressed,
        {{ prev }}.is_frozen,
        {{ prev }}.candidate_priority
    from {{ prev }}
    left join disclosure_added_{{ r }}
        on {{ prev }}.cell_id = disclosure_added_{{ r }}.cell_id

),
{%- endfor %}

disclosure_final as (

    select
        cell_id,
        cell_count,
        is_suppressed,
        case
            when is_primary_suppressed then 'primary'
            when is_suppressed then 'secondary'
        end as suppression
    from disclosure_round_{{ rounds }}

)
{%- endmacro %}
