{{- /* traefik's static and dynamic configuration for HTTPS letsencrypt. */}}
{{- define "jupyterhub.traefik.static" -}}
{{- $V := index . 1 }}{{ $t := $V.proxy.traefik }}
{{- $static := dict
  "entryPoints" (dict
    "http" (dict "address" ":8080")
    "https" (dict "address" ":8443"))
  "ping" (dict "entryPoint" "http")
  "providers" (dict "file" (dict "filename" "/etc/traefik/dynamic.yaml"))
  "certificatesResolvers" (dict "default" (dict "acme" (dict
    "email" $V.proxy.https.letsencrypt.contactEmail
    "caServer" $V.proxy.https.letsencrypt.acmeServer
    "storage" "/etc/acme/acme.json"
    "httpChallenge" (dict "entryPoint" "http"))))
  "log" (dict "level" ($V.debug.enabled | ternary "DEBUG" "INFO"))
  "accessLog" dict
}}
{{- mustMergeOverwrite $static (deepCopy $t.extraStaticConfig) | toYaml }}
{{- end }}

{{- define "jupyterhub.traefik.dynamic" -}}
{{- $root := index . 0 }}{{ $V := index . 1 }}{{ $t := $V.proxy.traefik }}
{{- $hosts := $V.proxy.https.hosts }}
{{- $target := printf "http://%s:8000/" (include "jupyterhub.name" (list $root "proxy-http")) }}
{{- $dynamic := dict "http" (dict
  "routers" (dict
    "default" (dict
      "rule" "PathPrefix(`/`)"
      "entryPoints" (list "https")
      "service" "default"
      "middlewares" (list "hsts" "scheme")
      "tls" (dict "certResolver" "default" "domains" (list (dict "main" (first $hosts) "sans" (rest $hosts)))))
    "insecure" (dict
      "rule" "PathPrefix(`/`)"
      "entryPoints" (list "http")
      "service" "default"
      "middlewares" (list "redirect")))
  "middlewares" (dict
    "hsts" (dict "headers" (dict
      "stsSeconds" $t.hsts.maxAge
      "stsIncludeSubdomains" $t.hsts.includeSubdomains
      "stsPreload" $t.hsts.preload))
    "redirect" (dict "redirectScheme" (dict "scheme" "https" "permanent" true))
    "scheme" (dict "headers" (dict "customRequestHeaders" (dict "X-Scheme" "https"))))
  "services" (dict "default" (dict "loadBalancer" (dict "servers" (list (dict "url" $target))))))
}}
{{- mustMergeOverwrite $dynamic (deepCopy $t.extraDynamicConfig) | toYaml }}
{{- end }}
