{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "gco.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name used as the prefix of every resource. Kept under 63 characters (DNS label limit).
If the release name already contains the chart name, it is used as is.
*/}}
{{- define "gco.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "gco.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every resource.
*/}}
{{- define "gco.labels" -}}
helm.sh/chart: {{ include "gco.chart" . }}
{{ include "gco.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: grafana-cloud-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels that select the operator pods.
*/}}
{{- define "gco.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gco.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the ServiceAccount the operator runs as.
*/}}
{{- define "gco.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gco.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "gco.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
"true" when leader election is on: asked for, or forced by more than one replica.
*/}}
{{- define "gco.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) }}true{{- end }}
{{- end }}

{{/*
Name of the leader-election Lease.
*/}}
{{- define "gco.leaseName" -}}
{{- default (include "gco.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
"true" when a default credentials Secret is configured.
*/}}
{{- define "gco.defaultCredentials" -}}
{{- if .Values.defaultCredentials.secretName }}true{{- end }}
{{- end }}

{{/*
Namespace of the default credentials Secret.
*/}}
{{- define "gco.defaultCredentialsNamespace" -}}
{{- default .Release.Namespace .Values.defaultCredentials.secretNamespace }}
{{- end }}

{{/*
The default-credentials namespace selector as a label selector string, the syntax of
`kubectl get -l`: "team=platform,env in (dev,staging),!legacy".
*/}}
{{- define "gco.namespaceSelector" -}}
{{- $selector := .Values.defaultCredentials.namespaceSelector | default dict }}
{{- $terms := list }}
{{- range $key, $value := ($selector.matchLabels | default dict) }}
{{- $terms = append $terms (printf "%s=%s" $key (toString $value)) }}
{{- end }}
{{- range ($selector.matchExpressions | default list) }}
{{- $values := .values | default list }}
{{- if eq .operator "In" }}
{{- $terms = append $terms (printf "%s in (%s)" .key (join "," $values)) }}
{{- else if eq .operator "NotIn" }}
{{- $terms = append $terms (printf "%s notin (%s)" .key (join "," $values)) }}
{{- else if eq .operator "Exists" }}
{{- $terms = append $terms .key }}
{{- else if eq .operator "DoesNotExist" }}
{{- $terms = append $terms (printf "!%s" .key) }}
{{- end }}
{{- end }}
{{- join "," $terms }}
{{- end }}

{{/*
Cross-field checks the schema cannot express with a readable message.
*/}}
{{- define "gco.validate" -}}
{{- if and (include "gco.defaultCredentials" .) (not (include "gco.namespaceSelector" .)) }}
{{- fail "defaultCredentials.namespaceSelector must select at least one label when defaultCredentials.secretName is set: without a selector no namespace may fall back to the default credentials" }}
{{- end }}
{{- end }}

{{/*
Rules for the operator's own resources, Secrets and Events. Shared by the ClusterRole and
the per-namespace Roles.
*/}}
{{- define "gco.namespacedRules" -}}
# Finalizers are added and removed with patches; status goes through server-side apply.
- apiGroups: ["grafanacloud.operator.dev"]
  resources: ["grafanastacks", "grafanacloudapikeys", "grafanacloudaccesspolicies", "grafanacloudaccesspolicytokens", "grafanastackserviceaccounts", "grafanastackserviceaccounttokens"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["grafanacloud.operator.dev"]
  resources: ["grafanastacks/status", "grafanacloudapikeys/status", "grafanacloudaccesspolicies/status", "grafanacloudaccesspolicytokens/status", "grafanastackserviceaccounts/status", "grafanastackserviceaccounttokens/status"]
  verbs: ["patch"]
# Needed to set blockOwnerDeletion on the ownerReference of the Secrets it writes.
- apiGroups: ["grafanacloud.operator.dev"]
  resources: ["grafanastacks/finalizers", "grafanacloudapikeys/finalizers", "grafanacloudaccesspolicies/finalizers", "grafanacloudaccesspolicytokens/finalizers", "grafanastackserviceaccounts/finalizers", "grafanastackserviceaccounttokens/finalizers"]
  verbs: ["update"]
# Token Secrets are created (after a dry run), replaced whole, and deleted when moved.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
Read access to namespaces, needed to evaluate the default-credentials namespace selector.
*/}}
{{- define "gco.namespaceRules" -}}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get", "list", "watch"]
{{- end }}
