{{- /*
The seed-era (legacy) keys, all in this file. Those that are plain renames
come from one table: the `x-legacy` entries of values.schema.yaml, which
ci/generate-schema writes to files/legacy-keys.json (its `hows` say what each
`how` does); "jupyterhub.legacy.apply" translates them and
"jupyterhub.legacy.warnings" words NOTES. The same file goes to the hub in
its ConfigMap: z2jh.py translates hub.existingSecret's values with it, the
same way, and the hub's hubconf/auth.py reads its auth tables (`auth`). The keys
that are not renames are code below: a string hub.extraConfig
("jupyterhub.legacy.applyCode"), refusals ("jupyterhub.legacy.refusals",
"jupyterhub.authChecks") and NOTES ("jupyterhub.legacyWarnings", auth.* in
"jupyterhub.legacyAuthWarnings"). proxy.https without `enabled` is decided
with today's HTTPS checks in "jupyterhub.values".
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

{{- /* The seed-era keys that are not renames, translated in place ($v, the
       values being made effective). */}}
{{- define "jupyterhub.legacy.applyCode" -}}
{{- $hub := .hub }}
{{- /* hub.extraConfig as one string -> a one-entry mapping. */}}
{{- if kindIs "string" $hub.extraConfig }}
  {{- $_ := set $hub "extraConfig" (dict "legacy-extraConfig" $hub.extraConfig) }}
{{- end }}
{{- end }}

{{- /* Seed-era values no translation makes safe, refused naming today's
       spelling: (dict "values" $v "root" $). */}}
{{- define "jupyterhub.legacy.refusals" -}}
{{- $v := .values }}{{ $root := .root }}
{{- /* Seed-era slips the schema lets through (its message could not name
       the right spelling) so that they are refused here. */}}
{{- if not (kindIs "invalid" $v.storage) }}
  {{- fail "storage is not a top-level key: per-user storage is configured under singleuser.storage (e.g. singleuser.storage.capacity: 10Gi)" }}
{{- end }}
{{- if not (kindIs "invalid" $v.hub.auth) }}
  {{- fail "hub.auth is not read: the seed-era auth settings go at the top level (auth:, not under hub:); today's spelling is hub.config.JupyterHub.authenticator_class and hub.config.<Authenticator class>.<setting>" }}
{{- end }}
{{- with $v.auth }}{{ include "jupyterhub.authChecks" (dict "auth" . "tables" (include "jupyterhub.legacy.table" $root | fromJson).auth) }}{{ end }}
{{- end }}

{{- /*
auth.* the hub could not translate, refused at render time: an auth.type
outside the auth tables' `types` (files/legacy-keys.json), a provider section the type does not read
(the hub would ignore it), and auth.custom keys beside className/config.
*/}}
{{- define "jupyterhub.authChecks" -}}
{{- $auth := .auth }}
{{- $types := .tables.types }}
{{- $choices := append (keys $types) "custom" | sortAlpha }}
{{- $type := $auth.type }}
{{- if and (not (kindIs "invalid" $type)) (not (has $type $choices)) }}
  {{- fail (printf "auth.type %q is not one of: %s. For another authenticator set hub.config.JupyterHub.authenticator_class (e.g. bitbucket, or a class such as ldapauthenticator.LDAPAuthenticator) and its settings under hub.config.<Authenticator class>" (toString $type) (join ", " $choices)) }}
{{- end }}
{{- $section := include "jupyterhub.authSection" $auth }}
{{- range $choices }}
  {{- if and (not (kindIs "invalid" (index $auth .))) (ne . $section) }}
    {{- fail (printf "auth.%s is only read with auth.type: %s (auth.type is %s): set auth.type: %s, or remove auth.%s" . . ($type | default "not set" | toString) . .) }}
  {{- end }}
{{- end }}
{{- if eq $type "custom" }}
  {{- $custom := $auth.custom | default dict }}
  {{- if not $custom.className }}
    {{- fail "auth.type custom needs auth.custom.className (the authenticator class, e.g. oauthenticator.generic.GenericOAuthenticator)" }}
  {{- end }}
  {{- $class := $custom.className | splitList "." | last }}
  {{- $oauth := hasPrefix "oauthenticator." $custom.className }}
  {{- $renamed := .tables.oauthRenamed }}
  {{- $stray := list }}{{ $today := list }}
  {{- range $key := keys (omit $custom "className" "config") | sortAlpha }}
    {{- $stray = append $stray (printf "auth.custom.%s" $key) }}
    {{- if and $oauth (eq $key "userdata_method") }}
      {{- $today = append $today "no userdata_method (oauthenticator always fetches user data with GET)" }}
    {{- else }}
      {{- $today = append $today (printf "hub.config.%s.%s" $class ($oauth | ternary (get $renamed $key | default $key) $key)) }}
    {{- end }}
  {{- end }}
  {{- if $stray }}
    {{- fail (printf "%s: not read (older charts ignored them too): the authenticator's settings go under auth.custom.config; today's spelling: %s" (join ", " $stray) (join ", " $today)) }}
  {{- end }}
  {{- $method := dig "config" "userdata_method" "GET" $custom }}
  {{- if and $oauth (ne (upper (toString $method)) "GET") }}
    {{- fail (printf "auth.custom.config.userdata_method is %s, but oauthenticator always fetches user data with GET: remove it" (toString $method)) }}
  {{- end }}
{{- end }}
{{- end }}

{{- /*
One line per seed-era key in use, saying what to write instead. Computed
from .Values as the user gave them (before "jupyterhub.values" translates).
*/}}
{{- define "jupyterhub.legacyWarnings" -}}
{{- $v := .Values }}
{{- if kindIs "string" $v.hub.extraConfig }}
- hub.extraConfig is a string; write it as a mapping of named snippets:
    hub:
      extraConfig:
        myConfig: |
          <your code>
{{- end }}
{{- include "jupyterhub.legacy.warnings" . }}
{{- $https := $v.proxy.https }}
{{- if and (kindIs "invalid" $https.enabled) (eq (include "jupyterhub.https.impliedOn" $https) "true") }}
- proxy.https is configured without proxy.https.enabled; HTTPS ({{ $https.type }}) is on,
  as older charts did: write proxy.https.enabled: true
{{- end }}
{{- range $path, $image := dict "hub.image" $v.hub.image "singleuser.image" $v.singleuser.image }}
{{- if not (kindIs "string" $image.tag) }}
- {{ $path }}.tag is a number ({{ $image.tag }}); quote it: numbers lose trailing zeros (16.10 -> 16.1)
{{- end }}
{{- end }}
{{- range $name, $image := $v.prePuller.extraImages }}
{{- if not (kindIs "string" $image.tag) }}
- prePuller.extraImages.{{ $name }}.tag is a number ({{ $image.tag }}); quote it: numbers lose trailing zeros (16.10 -> 16.1)
{{- end }}
{{- end }}
{{- with $v.auth }}
{{- include "jupyterhub.legacyAuthWarnings" (dict "auth" . "tables" (include "jupyterhub.legacy.table" $ | fromJson).auth) }}
{{- end }}
{{- end }}

{{- /* The section of auth.* that holds the authenticator's settings: auth.<type>,
       or auth.github for the seed guide's CILogon example. */}}
{{- define "jupyterhub.authSection" -}}
{{- $type := .type | default "" }}
{{- if and (eq $type "cilogon") (kindIs "invalid" .cilogon) (not (kindIs "invalid" .github)) }}github
{{- else }}{{ $type }}
{{- end }}
{{- end }}

{{- /* One line per auth.* key, saying what the hub makes of it (the same
       translation as legacy_auth_config in files/hub/hubconf/auth.py, from the
       same auth tables): (dict "auth" $auth "tables" <the tables>). Values
       it refuses never get here: "jupyterhub.authChecks" fails first. */}}
{{- define "jupyterhub.legacyAuthWarnings" -}}
{{- $auth := .auth }}
{{- $types := .tables.types }}
{{- $keys := .tables.keys }}
{{- $type := $auth.type | default "" }}
{{- $className := "" }}
{{- if eq $type "custom" }}{{ $className = dig "custom" "className" "" $auth }}
{{- else if hasKey $types $type }}{{ $className = index (get $types $type) 1 }}
{{- end }}
{{- $class := $className | splitList "." | last }}
{{- $section := include "jupyterhub.authSection" $auth }}
{{- if eq $type "custom" }}
- auth.type custom is deprecated; write hub.config.JupyterHub.authenticator_class: {{ $className }}
{{- else if $type }}
- auth.type is deprecated; write hub.config.JupyterHub.authenticator_class: {{ index (get $types $type) 0 }}
{{- end }}
{{- $restricted := false }}
{{- if and $section (ne $type "custom") }}
  {{- range $key, $_ := index $auth $section }}
    {{- $trait := get $keys $key }}
    {{- if hasPrefix "allowed_" $trait }}{{ $restricted = true }}{{ end }}
- auth.{{ $section }}.{{ $key }} is deprecated; write hub.config.{{ $class }}.{{ $trait }}{{ if eq $trait "hosted_domain" }} (a list){{ end }}
  {{- end }}
{{- end }}
{{- if and $type (not (has $type (list "dummy" "custom"))) (not $restricted) (not (dig "whitelist" "users" list $auth)) }}
- auth.type {{ $type }} with no auth.whitelist.users (nor an allowed list) lets every account of
  the provider log in, as older charts did; today that is hub.config.{{ $class }}.allow_all: true
{{- end }}
{{- if eq $type "custom" }}
  {{- $oauth := hasPrefix "oauthenticator." $className }}
  {{- $renamed := .tables.oauthRenamed }}
  {{- range $key, $_ := dig "custom" "config" dict $auth }}
    {{- if and $oauth (eq $key "userdata_method") }}
- auth.custom.config.userdata_method is no longer a setting (oauthenticator always fetches user data with GET); remove it
    {{- else }}
- auth.custom.config.{{ $key }} is deprecated; write hub.config.{{ $class }}.{{ $oauth | ternary (get $renamed $key | default $key) $key }}
    {{- end }}
  {{- end }}
{{- end }}
{{- with $auth.scopes }}
- auth.scopes is deprecated; write hub.config.OAuthenticator.scope
{{- end }}
{{- with dig "whitelist" "users" nil $auth }}
- auth.whitelist.users is deprecated; write hub.config.Authenticator.allowed_users
{{- end }}
{{- with dig "admin" "users" nil $auth }}
- auth.admin.users is deprecated; write hub.config.Authenticator.admin_users
{{- end }}
{{- $access := dig "admin" "access" nil $auth }}
{{- if not (kindIs "invalid" $access) }}
- auth.admin.access is deprecated; write hub.config.JupyterHub.admin_access: {{ $access }}
  {{- if not $access }}
  (auth.admin.access: false no longer restricts admins: JupyterHub's admin role can always reach
  users' servers; define a narrower role in hub.loadRoles instead)
  {{- end }}
{{- end }}
{{- if not (kindIs "invalid" (dig "state" "enabled" nil $auth)) }}
- auth.state.enabled is deprecated; write hub.config.Authenticator.enable_auth_state: {{ dig "state" "enabled" nil $auth }}
{{- end }}
{{- with dig "state" "cryptoKey" nil $auth }}
- auth.state.cryptoKey is deprecated; write hub.config.CryptKeeper.keys: [<the key>]
  (it encrypts; keys used before are kept after it, to read older auth state)
{{- end }}
{{- end }}
