// Package validate checks deploy/k8s against the Kubernetes API types,
// offline.
//
// Why not kubeconform: it downloads its JSON schemas from GitHub at run time,
// and this project's machines and CI reach only the Go module proxy, Debian
// and npm. The Go types in k8s.io/api are the source those schemas are
// generated from, so every document is decoded strictly into its typed
// object (unknown or misspelled fields, wrong value types and duplicate keys
// are errors), then checked for the invariants operations rely on. KEDA's
// types are not in k8s.io/api; its two kinds are decoded strictly into the
// subset of keda.sh/v1alpha1 this project uses (mirroring KEDA's JSON tags).
//
// This is its own module so k8s.io/api never enters the worker's go.mod.
// Run: cd deploy/validate && go test ./...   (make validate-deploy)
package validate

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"
)

// manifestsDir holds the manifests under test.
const manifestsDir = "../k8s"

type doc struct {
	file string
	kind string
	obj  any
}

func loadManifests(t *testing.T) []doc {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

	files, err := filepath.Glob(filepath.Join(manifestsDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", manifestsDir, err)
	}
	var docs []doc
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, part := range bytes.Split(raw, []byte("\n---\n")) {
			if len(bytes.TrimSpace(stripComments(part))) == 0 {
				continue
			}
			name := filepath.Base(f) + "#" + string(rune('0'+i))
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal(part, &meta); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var obj any
			switch meta.APIVersion {
			case "keda.sh/v1alpha1":
				obj, err = decodeKEDA(meta.Kind, part)
			default:
				obj, _, err = decoder.Decode(part, nil, nil)
			}
			if err != nil {
				t.Errorf("%s (%s %s): %v", name, meta.APIVersion, meta.Kind, err)
				continue
			}
			docs = append(docs, doc{file: name, kind: meta.Kind, obj: obj})
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

func TestManifestsDecodeStrictly(t *testing.T) {
	kinds := map[string]int{}
	for _, d := range loadManifests(t) {
		kinds[d.kind]++
	}
	for kind, want := range map[string]int{
		"Deployment": 3, "Service": 1, "ConfigMap": 1, "PodDisruptionBudget": 1,
		"ScaledObject": 1, "TriggerAuthentication": 1,
	} {
		if kinds[kind] != want {
			t.Errorf("%d %s manifests, want %d (all: %v)", kinds[kind], kind, want, kinds)
		}
	}
}

func TestStrictDecodingCatchesMistakes(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = appsv1.AddToScheme(scheme)
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	bad := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n")
	if _, _, err := decoder.Decode(bad, nil, nil); err == nil {
		t.Fatal("a misspelled field (replica) was accepted: the validation would be toothless")
	}
	if _, err := decodeKEDA("ScaledObject", []byte("spec:\n  scaleTargetRef: {name: w}\n  minReplicas: 1\n")); err == nil {
		t.Fatal("a misspelled ScaledObject field was accepted")
	}
}

func TestOperationalInvariants(t *testing.T) {
	docs := loadManifests(t)
	var cfg struct {
		Worker struct {
			ShutdownTimeout string `json:"shutdownTimeout"`
			MetricsAddr     string `json:"metricsAddr"`
		} `json:"worker"`
	}
	deployments := map[string]*appsv1.Deployment{}
	var scaled *ScaledObject
	var pdb *policyv1.PodDisruptionBudget
	for _, d := range docs {
		switch o := d.obj.(type) {
		case *corev1.ConfigMap:
			if err := yaml.Unmarshal([]byte(o.Data["config.yaml"]), &cfg); err != nil {
				t.Fatalf("configmap config.yaml: %v", err)
			}
		case *appsv1.Deployment:
			deployments[o.Name] = o
		case *ScaledObject:
			scaled = o
		case *policyv1.PodDisruptionBudget:
			pdb = o
		}
	}
	shutdown, err := time.ParseDuration(cfg.Worker.ShutdownTimeout)
	if err != nil {
		t.Fatalf("configmap worker.shutdownTimeout %q: %v", cfg.Worker.ShutdownTimeout, err)
	}
	if !strings.HasSuffix(cfg.Worker.MetricsAddr, ":9090") {
		t.Errorf("worker.metricsAddr %q: probes use port 9090", cfg.Worker.MetricsAddr)
	}

	for _, name := range []string{"ocr-worker", "ocr-scheduler", "ocr-dashboard"} {
		dep := deployments[name]
		if dep == nil {
			t.Errorf("no Deployment %s", name)
			continue
		}
		spec := dep.Spec.Template.Spec
		if sel := dep.Spec.Selector.MatchLabels; sel["app.kubernetes.io/name"] != dep.Spec.Template.Labels["app.kubernetes.io/name"] {
			t.Errorf("%s: selector %v does not match the pod labels", name, sel)
		}
		if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: pods must run as non-root", name)
		}
		for _, c := range spec.Containers {
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("%s/%s: readiness must probe /readyz", name, c.Name)
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
				t.Errorf("%s/%s: liveness must probe /healthz", name, c.Name)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s/%s: needs cpu requests and a memory limit", name, c.Name)
			}
			if len(c.EnvFrom) == 0 || c.EnvFrom[0].SecretRef == nil {
				t.Errorf("%s/%s: secrets must come from envFrom secretRef", name, c.Name)
			}
			for _, e := range c.Env {
				if e.Value != "" && e.Name != "OCR_CONFIG" {
					t.Errorf("%s/%s: literal env %s: secrets belong in the Secret", name, c.Name, e.Name)
				}
			}
			if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s/%s: allowPrivilegeEscalation must be false", name, c.Name)
			}
		}
	}
	if w := deployments["ocr-worker"]; w != nil {
		grace := w.Spec.Template.Spec.TerminationGracePeriodSeconds
		if grace == nil || time.Duration(*grace)*time.Second <= shutdown {
			t.Errorf("worker terminationGracePeriodSeconds %v must exceed worker.shutdownTimeout %v", grace, shutdown)
		}
	}
	if s := deployments["ocr-scheduler"]; s != nil {
		if s.Spec.Replicas == nil || *s.Spec.Replicas != 1 || s.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Error("scheduler: exactly one replica with the Recreate strategy")
		}
	}

	if pdb == nil || pdb.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "ocr-worker" {
		t.Error("PodDisruptionBudget must select the workers")
	}
	if scaled == nil {
		t.Fatal("no ScaledObject")
	}
	if scaled.Spec.ScaleTargetRef.Name != "ocr-worker" {
		t.Errorf("ScaledObject targets %q", scaled.Spec.ScaleTargetRef.Name)
	}
	if pdb != nil && pdb.Spec.MinAvailable != nil && scaled.Spec.MinReplicaCount != nil &&
		int(*scaled.Spec.MinReplicaCount) <= pdb.Spec.MinAvailable.IntValue() {
		t.Error("KEDA minReplicaCount must exceed the PDB's minAvailable, or node drains block")
	}
	queues := map[string]bool{}
	for _, tr := range scaled.Spec.Triggers {
		list := tr.Metadata["listName"]
		// asynq's pending list: base.PendingKey(q) = "asynq:{" + q + "}:pending".
		q, ok := strings.CutPrefix(list, "asynq:{")
		q, ok2 := strings.CutSuffix(q, "}:pending")
		if tr.Type != "redis" || !ok || !ok2 || tr.Metadata["listLength"] == "" {
			t.Errorf("trigger %+v: want a redis list trigger on asynq:{QUEUE}:pending", tr)
		}
		queues[q] = true
	}
	for _, q := range []string{"critical", "default", "backfill"} {
		if !queues[q] {
			t.Errorf("no KEDA trigger for queue %s", q)
		}
	}
}
