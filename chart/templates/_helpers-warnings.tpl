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
{{- if $v.hub.extraConfigMap }}
- hub.extraConfigMap is deprecated; write its keys under `custom` instead
  (z2jh.get_config("custom.<key>") reads them there).
{{- end }}
{{- if $v.hub.imagePullPolicy }}
- hub.imagePullPolicy is deprecated; write hub.image.pullPolicy: {{ $v.hub.imagePullPolicy }}
{{- end }}
{{- if not (kindIs "invalid" $v.hub.uid) }}
- hub.uid is deprecated; write hub.containerSecurityContext.runAsUser: {{ $v.hub.uid }}
{{- end }}
{{- if not (kindIs "invalid" $v.hub.fsGid) }}
- hub.fsGid is deprecated; write hub.podSecurityContext.fsGroup: {{ $v.hub.fsGid }}
{{- end }}
{{- if not (kindIs "invalid" $v.rbac.enabled) }}
- rbac.enabled is deprecated; write rbac.create: {{ $v.rbac.enabled }}
{{- end }}
{{- with $v.singleuser.schedulerStrategy }}
- singleuser.schedulerStrategy is deprecated; write scheduling.userScheduler.enabled: {{ eq . "pack" }}
  ({{ eq . "pack" | ternary "the user-scheduler packs user pods onto the fullest nodes" "the default scheduler spreads user pods" }})
{{- end }}
{{- if not (kindIs "invalid" $v.singleuser.cloudMetadata.enabled) }}
- singleuser.cloudMetadata.enabled is deprecated; write singleuser.cloudMetadata.blockWithIptables: {{ not $v.singleuser.cloudMetadata.enabled }}
  {{- if $v.singleuser.cloudMetadata.enabled }}
  and singleuser.networkPolicy.egressAllowRules.cloudMetadataServer: true
  {{- end }}
{{- end }}
{{- if $v.proxy.networkPolicy }}
- proxy.networkPolicy is deprecated; write it as proxy.chp.networkPolicy
{{- end }}
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
{{- include "jupyterhub.legacyAuthWarnings" . }}
{{- end }}
{{- end }}

{{- /* auth.* (seed era) -> hub.config.<Authenticator class>.<trait> */}}
{{- define "jupyterhub.authClass" -}}
{{- $classes := dict
  "github" "GitHubOAuthenticator" "google" "GoogleOAuthenticator"
  "cilogon" "CILogonOAuthenticator" "globus" "GlobusOAuthenticator"
  "gitlab" "GitLabOAuthenticator" "bitbucket" "BitbucketOAuthenticator"
  "azuread" "AzureAdOAuthenticator" "mediawiki" "MWOAuthenticator"
  "openshift" "OpenShiftOAuthenticator" "okpy" "OkpyOAuthenticator"
  "generic-oauth" "GenericOAuthenticator" "lti" "LTIAuthenticator"
  "ldap" "LDAPAuthenticator" "dummy" "DummyAuthenticator" "tmp" "TmpAuthenticator" }}
{{- get $classes . | default "" }}
{{- end }}

{{- define "jupyterhub.legacyAuthWarnings" -}}
{{- $auth := . }}
{{- $type := $auth.type | default "" }}
{{- $class := include "jupyterhub.authClass" $type }}
{{- if eq $type "custom" }}{{ $class = dig "custom" "className" "<className>" $auth | splitList "." | last }}{{ end }}
{{- $special := dict "callbackUrl" "oauth_callback_url" "org_whitelist" "allowed_organizations" "orgWhitelist" "allowed_organizations" "hostedDomain" "hosted_domain" "loginService" "login_service" "identityProvider" "identity_provider" "clientId" "client_id" "clientSecret" "client_secret" "scopes" "scope" }}
{{- with $auth.type }}
{{- if eq . "custom" }}
- auth.type custom is deprecated; write hub.config.JupyterHub.authenticator_class: {{ dig "custom" "className" "<className>" $auth }}
  and its settings (auth.custom.config) under hub.config.{{ $class }}
{{- else }}
- auth.type is deprecated; write hub.config.JupyterHub.authenticator_class: {{ . }}
{{- end }}
{{- end }}
{{- range $section, $settings := $auth }}
  {{- if and (kindIs "map" $settings) (not (has $section (list "whitelist" "admin" "state" "custom"))) }}
    {{- $sectionClass := include "jupyterhub.authClass" $section | default $class }}
    {{- range $key, $_ := $settings }}
- auth.{{ $section }}.{{ $key }} is deprecated; write hub.config.{{ $sectionClass }}.{{ get $special $key | default ($key | snakecase) }}
    {{- end }}
  {{- end }}
{{- end }}
{{- if eq $type "custom" }}{{ with dig "custom" "config" dict $auth }}
{{- range $key, $_ := . }}
- auth.custom.config.{{ $key }} is deprecated; write hub.config.{{ $class }}.{{ $key }}
{{- end }}
{{- end }}{{ end }}
{{- with $auth.scopes }}
- auth.scopes is deprecated; write hub.config.{{ $class | default "<Authenticator>" }}.scope
{{- end }}
{{- with dig "whitelist" "users" nil $auth }}
- auth.whitelist.users is deprecated; write hub.config.Authenticator.allowed_users
{{- end }}
{{- with dig "admin" "users" nil $auth }}
- auth.admin.users is deprecated; write hub.config.Authenticator.admin_users
{{- end }}
{{- if not (kindIs "invalid" (dig "admin" "access" nil $auth)) }}
- auth.admin.access is deprecated; write hub.config.JupyterHub.admin_access: {{ dig "admin" "access" nil $auth }}
{{- end }}
{{- if not (kindIs "invalid" (dig "state" "enabled" nil $auth)) }}
- auth.state.enabled is deprecated; write hub.config.Authenticator.enable_auth_state: {{ dig "state" "enabled" nil $auth }}
{{- end }}
{{- with dig "state" "cryptoKey" nil $auth }}
- auth.state.cryptoKey is deprecated; write hub.config.CryptKeeper.keys: [<the key>]
{{- end }}
{{- end }}
