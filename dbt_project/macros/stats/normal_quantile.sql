{#-
  normal_quantile(p) -> SQL expression: Φ⁻¹(p), the standard normal quantile, for 0 < p < 1
  (null outside). Engines have no inverse normal function, so this is P. J. Acklam's rational
  approximation (relative error below 1.15e-9 over the whole range; coefficients as published
  with the algorithm, also used by e.g. the R package `qnorm` fallbacks): a central region
  0.02425 <= p <= 0.97575 and two tails. Unit-tested against scipy.stats.norm.ppf in
  models/methods (methods_normal_quantile_check). Used by the needs index for the normal scores
  Φ⁻¹(r / (n + 1)) of the IMD method.
-#}
{% macro normal_quantile(p) -%}
    {%- set a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690, -30.66479806614716, 2.506628277459239] -%}
    {%- set b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572] -%}
    {%- set c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783] -%}
    {%- set d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416] -%}
    {%- set pp = stats_as_double(p) -%}
    {%- set q_low = 'sqrt(-2 * ln(' ~ pp ~ '))' -%}
    {%- set q_high = 'sqrt(-2 * ln(1 - ' ~ pp ~ '))' -%}
    {%- set q_mid = '(' ~ pp ~ ' - 0.5)' -%}
    {%- set r_mid = '(' ~ q_mid ~ ' * ' ~ q_mid ~ ')' -%}
    (case
        when {{ pp }} <= 0 or {{ pp }} >= 1 or {{ pp }} is null then null
        when {{ pp }} < 0.02425 then
            {{ _horner(c, q_low) }} / ({{ _horner(d + [1.0], q_low) }})
        when {{ pp }} <= 0.97575 then
            {{ _horner(a, r_mid) }} * {{ q_mid }} / ({{ _horner(b + [1.0], r_mid) }})
        else
            -({{ _horner(c, q_high) }}) / ({{ _horner(d + [1.0], q_high) }})
    end)
{%- endmacro %}


{#- _horner(coefficients, x): c0·xⁿ + c1·xⁿ⁻¹ + … + cₙ in Horner form, as SQL. -#}
{% macro _horner(coefficients, x) -%}
    {%- set expr = namespace(s=coefficients[0] | string) -%}
    {%- for k in coefficients[1:] -%}
        {%- set expr.s = '(' ~ expr.s ~ ') * ' ~ x ~ ' + ' ~ (k | string) -%}
    {%- endfor -%}
    ({{ expr.s }})
{%- endmacro %}
