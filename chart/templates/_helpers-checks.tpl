{{- /*
The value checks that ci/generate-schema moves out of values.schema.json:
helm prints a failed schema keyword (`does not match pattern '^(?:...'`, `value
must be one of`) without the value or what to write, so keys checked by
pattern or enum are checked here instead, from the generated tree in
_value-checks.tpl, and refused as `key: value <x-message>`, e.g.
  singleuser.memory.limit: "lots" is not a memory quantity; write bytes, ...
A kubespawner_override key that is not a KubeSpawner trait is refused with
the hub's message for it (chart/files/hub/hubconf/profiles.py), naming the nearest
trait. The walk reads .Values (keys as the user wrote them) and runs first in
"jupyterhub.values", before any template uses a value.
*/}}
{{- define "jupyterhub.checkValues" -}}
{{- $checks := include "jupyterhub.valueChecks" . | fromJson }}
{{- include "jupyterhub.checkNode" (dict "value" .Values "node" $checks "path" "" "traits" $checks.traitNames) }}
{{- end }}

{{- /* (dict "value" <value> "node" <check node> "path" <dotted key> "traits" <trait names>): fail on the first problem, in key order. */}}
{{- define "jupyterhub.checkNode" -}}
{{- $value := .value }}{{ $node := .node }}{{ $path := .path }}{{ $traits := .traits }}
{{- with $node.check }}
  {{- if include "jupyterhub.checkProblem" (list $value .) }}
    {{- fail (printf "%s: %s %s" $path (toJson $value) .message) }}
  {{- end }}
{{- end }}
{{- if kindIs "map" $value }}
  {{- $props := $node.properties | default dict }}
  {{- range $key, $child := $value }}
    {{- $at := ternary $key (printf "%s.%s" $path $key) (eq $path "") }}
    {{- /* JSON schema: additionalProperties covers keys that no property or pattern names */}}
    {{- $named := hasKey $props $key }}
    {{- with get $props $key }}{{ include "jupyterhub.checkNode" (dict "value" $child "node" . "path" $at "traits" $traits) }}{{ end }}
    {{- range $re, $sub := $node.patternProperties }}
      {{- if regexMatch $re $key }}
        {{- $named = true }}
        {{- include "jupyterhub.checkNode" (dict "value" $child "node" $sub "path" $at "traits" $traits) }}
      {{- end }}
    {{- end }}
    {{- if and (not $named) $node.additionalProperties }}
      {{- include "jupyterhub.checkNode" (dict "value" $child "node" $node.additionalProperties "path" $at "traits" $traits) }}
    {{- end }}
    {{- if and $node.traits (not (has $key $traits)) }}
      {{- $near := include "jupyterhub.nearestName" (list $key $traits) }}
      {{- fail (printf "%s sets '%s', which is not a KubeSpawner setting%s" $path $key (ternary (printf "; did you mean '%s'?" $near) "" (ne $near ""))) }}
    {{- end }}
  {{- end }}
{{- else if and (kindIs "slice" $value) $node.items }}
  {{- range $i, $item := $value }}
    {{- include "jupyterhub.checkNode" (dict "value" $item "node" $node.items "path" (printf "%s[%d]" $path $i) "traits" $traits) }}
  {{- end }}
{{- end }}
{{- end }}

{{- /* (list value check): "x" when the value breaks the check's type, enum, pattern or minimum. */}}
{{- define "jupyterhub.checkProblem" -}}
{{- $value := index . 0 }}{{ $check := index . 1 }}
{{- $kinds := list "null" }}
{{- if kindIs "invalid" $value }}
{{- else if kindIs "bool" $value }}{{ $kinds = list "boolean" }}
{{- else if kindIs "string" $value }}{{ $kinds = list "string" }}
{{- else if kindIs "map" $value }}{{ $kinds = list "object" }}
{{- else if kindIs "slice" $value }}{{ $kinds = list "array" }}
{{- else if eq (float64 $value) (floor $value) }}{{ $kinds = list "number" "integer" }}
{{- else }}{{ $kinds = list "number" }}
{{- end }}
{{- with $check.type }}
  {{- $allowed := ternary . (list .) (kindIs "slice" .) }}
  {{- if not (or (has (index $kinds 0) $allowed) (and (gt (len $kinds) 1) (has (index $kinds 1) $allowed))) }}x{{ end }}
{{- end }}
{{- if hasKey $check "enum" }}
  {{- $members := list }}
  {{- range $check.enum }}{{ $members = append $members (toJson .) }}{{ end }}
  {{- if not (has (toJson $value) $members) }}x{{ end }}
{{- end }}
{{- if and $check.pattern (kindIs "string" $value) (not (regexMatch $check.pattern $value)) }}x{{ end }}
{{- if and (hasKey $check "minimum") (has "number" $kinds) }}
  {{- if lt (float64 $value) (float64 $check.minimum) }}x{{ end }}
{{- end }}
{{- end }}

{{- /* (list name names): the name in names nearest to name by edit distance
(at most a third of name's length, at least 1; the first of equals), or "".
The hub's profile check suggests by the same rule. */}}
{{- define "jupyterhub.nearestName" -}}
{{- $name := index . 0 }}{{ $best := "" }}
{{- $limit := max 1 (div (len $name) 3) }}
{{- range index . 1 }}
  {{- $gap := sub (len .) (len $name) }}
  {{- if le (max $gap (mul -1 $gap)) $limit }}
    {{- $d := include "jupyterhub.editDistance" (list $name .) | atoi }}
    {{- if le $d $limit }}{{ $best = . }}{{ $limit = sub $d 1 }}{{ end }}
  {{- end }}
{{- end }}
{{- $best }}
{{- end }}

{{- /* (list a b): Levenshtein distance (insertions, deletions, substitutions). */}}
{{- define "jupyterhub.editDistance" -}}
{{- $b := splitList "" (index . 1) }}
{{- $prev := until (add1 (len $b) | int) }}
{{- range $i, $ca := splitList "" (index . 0) }}
  {{- $row := list (add1 $i) }}
  {{- range $j, $cb := $b }}
    {{- $cost := ternary 0 1 (eq $ca $cb) }}
    {{- $row = append $row (min (add1 (index $prev (add1 $j))) (add1 (index $row $j)) (add (index $prev $j) $cost)) }}
  {{- end }}
  {{- $prev = $row }}
{{- end }}
{{- last $prev }}
{{- end }}
