{{- /*
Seed-era keys that are plain renames, from one table: the `x-legacy` entries
of values.schema.yaml, which ci/generate-schema writes to
files/legacy-keys.json (its `hows` say what each `how` does). The same file
goes to the hub in its ConfigMap: z2jh.py translates hub.existingSecret's
values with it, the same way. Seed-era keys that are not renames (a string
hub.extraConfig, proxy.https without enabled, auth.*) are code:
"jupyterhub.values" and "jupyterhub.legacyWarnings".
*/}}
{{- define "jupyterhub.legacy.table" -}}
{{- .Files.Get "files/legacy-keys.json" }}
{{- end }}

{{- /*
Translates every table entry in use, in place: (dict "values" $v "root" $).
An old key counts as in use when it is neither null nor an empty mapping;
it is removed either way, so templates only ever see today's keys.
*/}}
{{- define "jupyterhub.legacy.apply" -}}
{{- $v := .values }}
{{- range (include "jupyterhub.legacy.table" .root | fromJson).keys }}
  {{- $key := .key }}
  {{- $parts := splitList "." .key }}
  {{- $parent := $v }}
  {{- range initial $parts }}
    {{- if kindIs "map" $parent }}{{ $parent = index $parent . }}{{ end }}
  {{- end }}
  {{- if kindIs "map" $parent }}
    {{- $old := index $parent (last $parts) }}
    {{- if and (not (kindIs "invalid" $old)) (not (and (kindIs "map" $old) (empty $old))) }}
      {{- range .targets }}
        {{- $toParts := splitList "." .to }}
        {{- $node := $v }}
        {{- range initial $toParts }}
          {{- if not (kindIs "map" (index $node .)) }}{{ $_ := set $node . dict }}{{ end }}
          {{- $node = index $node . }}
        {{- end }}
        {{- $leaf := last $toParts }}
        {{- $today := index $node $leaf }}
        {{- if eq .how "set" }}{{ $_ := set $node $leaf $old }}
        {{- else if eq .how "default" }}{{ if not $today }}{{ $_ := set $node $leaf $old }}{{ end }}
        {{- else if eq .how "and" }}{{ $_ := set $node $leaf (and $today $old) }}
        {{- else if eq .how "not" }}{{ $_ := set $node $leaf (not $old) }}
        {{- else if eq .how "map" }}
          {{- $new := get .map (toString $old) }}
          {{- if not (kindIs "invalid" $new) }}{{ $_ := set $node $leaf $new }}{{ end }}
        {{- else if eq .how "mergeOver" }}{{ $_ := set $node $leaf (mergeOverwrite (deepCopy ($today | default dict)) (deepCopy $old)) }}
        {{- else if eq .how "mergeUnder" }}{{ $_ := set $node $leaf (merge (deepCopy ($today | default dict)) (deepCopy $old)) }}
        {{- else }}{{ fail (printf "chart bug: files/legacy-keys.json: %s has how %q" $key .how) }}
        {{- end }}
      {{- end }}
    {{- end }}
    {{- $_ := unset $parent (last $parts) }}
  {{- end }}
{{- end }}
{{- end }}

{{- /* One NOTES line per table entry in use (from .Values as the user gave
       them), saying what to write instead; `why` (per old value, or one
       text) adds a line in parentheses. */}}
{{- define "jupyterhub.legacy.warnings" -}}
{{- range (include "jupyterhub.legacy.table" . | fromJson).keys }}
  {{- $old := $.Values }}
  {{- range splitList "." .key }}
    {{- if kindIs "map" $old }}{{ $old = index $old . }}{{ else }}{{ $old = nil }}{{ end }}
  {{- end }}
  {{- if and (not (kindIs "invalid" $old)) (not (and (kindIs "map" $old) (empty $old))) }}
    {{- $write := list }}
    {{- $why := "" }}
    {{- range .targets }}
      {{- $new := $old }}
      {{- if eq .how "not" }}{{ $new = not $old }}
      {{- else if eq .how "map" }}{{ $new = get .map (toString $old) }}
      {{- end }}
      {{- if eq .how "mergeOver" }}{{ $write = append $write (printf "it as %s" .to) }}
      {{- else if eq .how "mergeUnder" }}{{ $write = append $write (printf "its keys under `%s` instead" .to) }}
      {{- else if not (kindIs "invalid" $new) }}{{ $write = append $write (printf "%s: %v" .to $new) }}
      {{- end }}
      {{- if kindIs "map" .why }}{{ $why = get .why (toString $old) }}{{ else if .why }}{{ $why = .why }}{{ end }}
    {{- end }}
- {{ .key }} is deprecated; write {{ join "\n  and " $write }}
    {{- with $why }}
  ({{ . }})
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}
