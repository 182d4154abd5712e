{{- /*
NetworkPolicy pieces. Each component's policy = the paths the system needs
(written in the component's template) + these switchable egress groups +
the user's extra rules.
*/}}
{{- define "jupyterhub.privateCidrs" -}}
[10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]
{{- end }}

{{- /* Egress rules from egressAllowRules. (list $netpol $V) */}}
{{- define "jupyterhub.egressAllowRules" -}}
{{- $np := index . 0 }}{{ $V := index . 1 }}
{{- $r := $np.egressAllowRules }}
{{- $metadata := printf "%s/32" $V.singleuser.cloudMetadata.ip }}
{{- $private := include "jupyterhub.privateCidrs" . | fromYamlArray }}
{{- $dns := list (dict "port" 53 "protocol" "UDP") (dict "port" 53 "protocol" "TCP") }}
{{- if $r.cloudMetadataServer }}
- to:
    - ipBlock:
        cidr: {{ $metadata }}
{{- end }}
{{- if $r.dnsPortsCloudMetadataServer }}
- to:
    - ipBlock:
        cidr: {{ $metadata }}
  ports: {{ toJson $dns }}
{{- end }}
{{- if $r.dnsPortsKubeSystemNamespace }}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
  ports: {{ toJson $dns }}
{{- end }}
{{- if $r.dnsPortsPrivateIPs }}
- to:
    {{- range $private }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports: {{ toJson $dns }}
{{- end }}
{{- if $r.nonPrivateIPs }}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          {{- range $private }}
          - {{ . }}
          {{- end }}
          {{- if not $r.cloudMetadataServer }}
          - {{ $metadata }}
          {{- end }}
{{- end }}
{{- if $r.privateIPs }}
- to:
    {{- range $private }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
{{- end }}
{{- with $np.egress }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- /*
"from" peers for pods carrying an access label, in this namespace and, with
interNamespaceAccessLabels: accept, in namespaces carrying it too.
(dict "root" $ "networkPolicy" $netpol "label" "hub.jupyter.org/network-access-hub")
*/}}
{{- define "jupyterhub.accessPeers" -}}
{{- $root := .root }}{{ $np := .networkPolicy }}{{ $label := .label -}}
- podSelector:
    matchLabels:
      {{ $label }}: "true"
{{- if eq $np.interNamespaceAccessLabels "accept" }}
- namespaceSelector:
    matchLabels:
      {{ $label }}: "true"
  podSelector:
    matchLabels:
      {{ $label }}: "true"
{{- end }}
{{- end }}

{{- /* Ingress rule: ports anyone may reach. (list $netpol $portsByName) */}}
{{- define "jupyterhub.allowedIngressPorts" -}}
{{- $np := index . 0 }}
{{- with $np.allowedIngressPorts }}
- ports:
    {{- range . }}
    - port: {{ . }}
    {{- end }}
{{- end }}
{{- with $np.ingress }}
{{ toYaml . }}
{{- end }}
{{- end }}
