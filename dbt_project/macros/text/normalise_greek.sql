{#-
  normalise_greek(expr) -> SQL expression
  ingest.text.normalise_greek in portable SQL (nested dbt.replace, upper, trim), for joining free
  text to a seed of normalised spellings (body_spellings.spelling_normalised). Steps, as in Python:
    1. accents dropped: precomposed Greek letters (monotonic and the usual polytonic ones), Latin
       vowels with accents, combining marks, invisible format characters; µ and compatibility
       Greek letters (ϐ ϑ ϕ ϰ ϱ ϲ) folded as NFKD folds them;
    2. upper case (ς -> Σ);
    3. whitespace and the separator punctuation of ingest.text._SEPARATORS -> one space, trimmed;
    4. Latin look-alikes (A B E Z H I K M N O P T X Y) -> the Greek letters they look like.
  Where it differs from Python, and why that does not change a join to the seed:
    - step 4 is applied to every token; Python leaves a token with a non-look-alike Latin letter
      (C D F G J L Q R S U V W) in Latin. Such a token keeps that letter in both versions, and no
      seed spelling has a Latin letter, so the text matches no spelling either way;
    - step 1 knows a fixed list of characters, not the whole of Unicode NFKD: a rare compatibility
      character (ligatures, full-width forms, other scripts' accents) stays and the text does not
      match (Python might have matched it). tests/assert_normalise_greek_matches_body_spellings.sql
      checks every spelling of the seed.
-#}
{% macro normalise_greek(expr) -%}
    {%- set accents = [
        ('ά', 'α'), ('έ', 'ε'), ('ή', 'η'), ('ί', 'ι'), ('ό', 'ο'), ('ύ', 'υ'), ('ώ', 'ω'),
        ('ϊ', 'ι'), ('ϋ', 'υ'), ('ΐ', 'ι'), ('ΰ', 'υ'),
        ('Ά', 'Α'), ('Έ', 'Ε'), ('Ή', 'Η'), ('Ί', 'Ι'), ('Ό', 'Ο'), ('Ύ', 'Υ'), ('Ώ', 'Ω'),
        ('Ϊ', 'Ι'), ('Ϋ', 'Υ'),
        ('ὰ', 'α'), ('ὲ', 'ε'), ('ὴ', 'η'), ('ὶ', 'ι'), ('ὸ', 'ο'), ('ὺ', 'υ'), ('ὼ', 'ω'),
        ('ᾶ', 'α'), ('ῆ', 'η'), ('ῖ', 'ι'), ('ῦ', 'υ'), ('ῶ', 'ω'), ('ᾳ', 'α'), ('ῃ', 'η'), ('ῳ', 'ω'),
        ('µ', 'μ'), ('ϐ', 'β'), ('ϑ', 'θ'), ('ϕ', 'φ'), ('ϰ', 'κ'), ('ϱ', 'ρ'), ('ϲ', 'ς'), ('ϴ', 'Θ'),
        ('à', 'a'), ('á', 'a'), ('â', 'a'), ('ã', 'a'), ('ä', 'a'), ('å', 'a'),
        ('è', 'e'), ('é', 'e'), ('ê', 'e'), ('ë', 'e'),
        ('ì', 'i'), ('í', 'i'), ('î', 'i'), ('ï', 'i'),
        ('ò', 'o'), ('ó', 'o'), ('ô', 'o'), ('õ', 'o'), ('ö', 'o'), ('ý', 'y'), ('ÿ', 'y'),
        ('À', 'A'), ('Á', 'A'), ('Â', 'A'), ('Ã', 'A'), ('Ä', 'A'), ('Å', 'A'),
        ('È', 'E'), ('É', 'E'), ('Ê', 'E'), ('Ë', 'E'),
        ('Ì', 'I'), ('Í', 'I'), ('Î', 'I'), ('Ï', 'I'),
        ('Ò', 'O'), ('Ó', 'O'), ('Ô', 'O'), ('Õ', 'O'), ('Ö', 'O'), ('Ý', 'Y'),
        ('ñ', 'n'), ('Ñ', 'N'), ('ç', 'c'), ('Ç', 'C'), ('ù', 'u'), ('ú', 'u'), ('û', 'u'),
        ('ü', 'u'), ('Ù', 'U'), ('Ú', 'U'), ('Û', 'U'), ('Ü', 'U'),
        ('\u0300', ''), ('\u0301', ''), ('\u0302', ''), ('\u0303', ''), ('\u0304', ''),
        ('\u0306', ''), ('\u0308', ''), ('\u030a', ''), ('\u0313', ''), ('\u0314', ''),
        ('\u0342', ''), ('\u0343', ''), ('\u0344', ''), ('\u0345', ''),
        ('\u00ad', ''), ('\u200b', ''), ('\u200c', ''), ('\u200d', ''), ('\u200e', ''),
        ('\u200f', ''), ('\u2060', ''), ('\ufeff', ''),
    ] -%}
    {%- set separators = [
        '\t', '\n', '\r', '\u000b', '\u000c', '\u00a0', '\u2007', '\u2009', '\u202f', '\u3000',
        '.', ',', '/', '\\', '-', '(', ')', '[', ']', '{', '}', ':', ';', '!', '?', '_', '|',
        '"', "'", '`', '\u00b4', '\u00b7', '\u0387', '\u037e', '\u02bc',
        '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015',
        '\u2018', '\u2019', '\u201a', '\u201b', '\u201c', '\u201d', '\u201e', '\u201f',
        '\u00ab', '\u00bb', '\u2039', '\u203a', '\u2026',
    ] -%}
    {%- set lookalikes = [
        ('A', 'Α'), ('B', 'Β'), ('E', 'Ε'), ('Z', 'Ζ'), ('H', 'Η'), ('I', 'Ι'), ('K', 'Κ'),
        ('M', 'Μ'), ('N', 'Ν'), ('O', 'Ο'), ('P', 'Ρ'), ('T', 'Τ'), ('X', 'Χ'), ('Y', 'Υ'),
    ] -%}
    {#- dbt.replace once, on placeholders, its layout folded to one line -#}
    {%- set template = dbt.replace('__field__', "'__old__'", "'__new__'").split() | join(' ') -%}
    {%- set ns = namespace(sql='cast(' ~ expr ~ ' as ' ~ dbt.type_string() ~ ')') -%}
    {%- for old, new in accents -%}
        {%- set ns.sql = _normalise_greek_replace(template, ns.sql, old, new) -%}
    {%- endfor -%}
    {%- set ns.sql = 'upper(' ~ ns.sql ~ ')' -%}
    {%- for old in separators -%}
        {%- set ns.sql = _normalise_greek_replace(template, ns.sql, old, ' ') -%}
    {%- endfor -%}
    {#- 7 halvings collapse a run of up to 128 spaces into one -#}
    {%- for _ in range(7) -%}
        {%- set ns.sql = _normalise_greek_replace(template, ns.sql, '  ', ' ') -%}
    {%- endfor -%}
    {%- set ns.sql = 'trim(' ~ ns.sql ~ ')' -%}
    {%- for old, new in lookalikes -%}
        {%- set ns.sql = _normalise_greek_replace(template, ns.sql, old, new) -%}
    {%- endfor -%}
    {{ ns.sql }}
{%- endmacro %}

{#- The template of dbt.replace filled in with an expression and two string literals. -#}
{% macro _normalise_greek_replace(template, sql, old, new) -%}
    {{- template
        | replace("__old__", dbt.escape_single_quotes(old))
        | replace("__new__", dbt.escape_single_quotes(new))
        | replace("__field__", sql) -}}
{%- endmacro %}
