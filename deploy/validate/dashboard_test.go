package validate

import (
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The dashboard refuses to listen beyond loopback without a login unless
// started with --insecure-no-login. Every manifest that runs it there must
// therefore give it a login from the Secret (required keys, so a missing
// one stops the pod with a clear event) or say the flag on purpose.
func TestDashboardHasALoginOrTheFlag(t *testing.T) {
	var cfg struct {
		Dashboard struct {
			Addr string `json:"addr"`
		} `json:"dashboard"`
	}
	found := 0
	for _, d := range loadManifests(t) {
		if cm, ok := d.obj.(*corev1.ConfigMap); ok {
			if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &cfg); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, d := range loadManifests(t) {
		dep, ok := d.obj.(*appsv1.Deployment)
		if !ok {
			continue
		}
		for _, c := range dep.Spec.Template.Spec.Containers {
			args := append(slices.Clone(c.Command), c.Args...)
			if len(args) == 0 || args[0] != "dashboard" {
				continue
			}
			found++
			addr := flagValue(args, "--addr", cfg.Dashboard.Addr)
			if loopbackAddr(addr) || slices.Contains(args, "--insecure-no-login") {
				continue
			}
			for _, key := range []string{"DASHBOARD_USERNAME", "DASHBOARD_PASSWORD"} {
				if !fromSecret(c.Env, key) {
					t.Errorf("%s/%s listens on %s: %s must come from a Secret (secretKeyRef, not optional), or pass --insecure-no-login",
						dep.Name, c.Name, addr, key)
				}
			}
		}
	}
	if found == 0 {
		t.Fatal("no dashboard container in deploy/k8s: the check proves nothing")
	}
}

// docker-compose runs the dashboard on the compose network (published to
// the host's loopback only): it must pass --insecure-no-login or a login.
func TestComposeDashboardHasALoginOrTheFlag(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Command     []string          `json:"command"`
			Environment map[string]string `json:"environment"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	svc, ok := compose.Services["dashboard"]
	if !ok || len(svc.Command) == 0 || svc.Command[0] != "dashboard" {
		t.Fatalf("no dashboard service running the dashboard: %+v", svc)
	}
	addr := flagValue(svc.Command, "--addr", "127.0.0.1:8080")
	login := svc.Environment["DASHBOARD_USERNAME"] != "" && !strings.HasSuffix(svc.Environment["DASHBOARD_USERNAME"], ":-}")
	if !loopbackAddr(addr) && !login && !slices.Contains(svc.Command, "--insecure-no-login") {
		t.Errorf("compose dashboard listens on %s with no fixed login and without --insecure-no-login: it would not start", addr)
	}
}

func flagValue(args []string, name, def string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return def
}

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func fromSecret(env []corev1.EnvVar, key string) bool {
	for _, e := range env {
		if e.Name == key && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			return ref.Name != "" && ref.Key != "" && (ref.Optional == nil || !*ref.Optional)
		}
	}
	return false
}
