package deploy

import (
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestManifestsParse: every YAML file under deploy/k8s parses (all its
// documents), and every document but a kustomization is a named object.
func TestManifestsParse(t *testing.T) {
	n := 0
	err := filepath.WalkDir(k8sDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		docs, err := parseDocs(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if len(docs) == 0 {
			t.Errorf("%s: no documents", p)
		}
		seen := map[string]bool{}
		for i, doc := range docs {
			n++
			var h header
			if err := doc.Decode(&h); err != nil {
				t.Errorf("%s, document %d: %v", p, i+1, err)
				continue
			}
			if filepath.Base(p) == "kustomization.yaml" {
				if h.Kind != "Kustomization" || len(docs) != 1 {
					t.Errorf("%s: want one document of kind Kustomization", p)
				}
				continue
			}
			if h.APIVersion == "" || h.Kind == "" || h.Metadata.Name == "" {
				t.Errorf("%s, document %d: apiVersion, kind and metadata.name are required", p, i+1)
			}
			if h.Metadata.Namespace != "" {
				t.Errorf("%s: %s %s sets a namespace; the manifests are namespace-agnostic", p, h.Kind, h.Metadata.Name)
			}
			id := h.Kind + "/" + h.Metadata.Name
			if seen[id] {
				t.Errorf("%s: %s twice", p, id)
			}
			seen[id] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no YAML under deploy/k8s")
	}
}

// TestKustomizationFiles: every kustomization refers only to files that
// exist, and every file in its directory is used by it.
func TestKustomizationFiles(t *testing.T) {
	var roots []string
	_ = filepath.WalkDir(k8sDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "kustomization.yaml" {
			roots = append(roots, filepath.Dir(p))
		}
		return err
	})
	for _, want := range kustomizeRoots {
		if !slices.Contains(roots, filepath.FromSlash(want)) {
			t.Errorf("no %s/kustomization.yaml", want)
		}
	}
	for _, dir := range roots {
		k := loadKustomization(t, dir)
		used := map[string]bool{filepath.Join(dir, "kustomization.yaml"): true}
		for _, ref := range k.files() {
			if strings.Contains(ref, "://") {
				t.Errorf("%s: remote reference %s (the build must work offline)", dir, ref)
				continue
			}
			p := filepath.Join(dir, ref)
			fi, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s/kustomization.yaml: %s: %v", dir, ref, err)
				continue
			}
			if fi.IsDir() {
				if _, err := os.Stat(filepath.Join(p, "kustomization.yaml")); err != nil {
					t.Errorf("%s/kustomization.yaml: %s is a directory without a kustomization", dir, ref)
				}
				continue
			}
			used[p] = true
		}
		if len(k.PatchesStrategicMerge) > 0 || len(k.PatchesJSON6902) > 0 {
			t.Errorf("%s: use patches:, the deprecated patch fields are going away", dir)
		}
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != dir {
					if _, err := os.Stat(filepath.Join(p, "kustomization.yaml")); err == nil {
						return filepath.SkipDir // another kustomization's files
					}
				}
				return nil
			}
			if !used[p] {
				t.Errorf("%s is not used by %s/kustomization.yaml", p, dir)
			}
			return nil
		})
	}
}

// baseIDs is what the base defines: kind/name of its resources and of its
// generated ConfigMaps, the images its workloads use.
func baseIDs(t *testing.T) (ids map[string]bool, images map[string]bool) {
	t.Helper()
	dir := filepath.Join(k8sDir, "base")
	k := loadKustomization(t, dir)
	ids, images = map[string]bool{}, map[string]bool{}
	for _, r := range k.Resources {
		b, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			t.Fatal(err)
		}
		o, err := decodeObjects(b)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		for _, h := range o.All {
			ids[h.Kind+"/"+h.Metadata.Name] = true
		}
		for _, w := range o.Workloads {
			for _, c := range w.Spec.Template.Spec.Containers {
				images[imageName(c.Image)] = true
			}
		}
	}
	for _, g := range k.ConfigMapGenerator {
		ids["ConfigMap/"+g.Name] = true
	}
	return ids, images
}

// imageName strips the tag or digest of an image reference.
func imageName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// TestOverlayTargets: whatever an overlay patches, scales, merges or
// retags exists in the base.
func TestOverlayTargets(t *testing.T) {
	ids, images := baseIDs(t)
	overlays, err := filepath.Glob(filepath.Join(k8sDir, "overlays", "*"))
	if err != nil || len(overlays) == 0 {
		t.Fatal("no overlays")
	}
	for _, dir := range overlays {
		k := loadKustomization(t, dir)
		if !slices.Contains(k.Resources, "../../base") {
			t.Errorf("%s does not build on ../../base", dir)
		}
		local := map[string]bool{} // the overlay's own resources
		for _, r := range k.Resources {
			if b, err := os.ReadFile(filepath.Join(dir, r)); err == nil {
				if o, err := decodeObjects(b); err == nil {
					for _, h := range o.All {
						local[h.Kind+"/"+h.Metadata.Name] = true
					}
				}
			}
		}
		exists := func(id string) bool { return ids[id] || local[id] }
		for _, p := range k.Patches {
			if p.Target != nil {
				if p.Target.Name != "" && !exists(p.Target.Kind+"/"+p.Target.Name) {
					t.Errorf("%s: patch target %s/%s is not in the base", dir, p.Target.Kind, p.Target.Name)
				}
				continue
			}
			src := []byte(p.Patch)
			if p.Path != "" {
				src, err = os.ReadFile(filepath.Join(dir, p.Path))
				if err != nil {
					t.Error(err)
					continue
				}
			}
			o, err := decodeObjects(src)
			if err != nil {
				t.Errorf("%s: patch %s: %v", dir, p.Path, err)
				continue
			}
			for _, h := range o.All {
				if id := h.Kind + "/" + h.Metadata.Name; !exists(id) {
					t.Errorf("%s: patch %s targets %s, which is not in the base", dir, p.Path, id)
				}
			}
		}
		for _, r := range k.Replicas {
			if !ids["Deployment/"+r.Name] && !ids["StatefulSet/"+r.Name] {
				t.Errorf("%s: replicas for %s, which is not a workload of the base", dir, r.Name)
			}
		}
		for _, g := range k.ConfigMapGenerator {
			switch g.Behavior {
			case "merge", "replace":
				if !ids["ConfigMap/"+g.Name] {
					t.Errorf("%s: configMapGenerator %s %ss a ConfigMap the base does not generate", dir, g.Name, g.Behavior)
				}
			default:
				if ids["ConfigMap/"+g.Name] {
					t.Errorf("%s: configMapGenerator %s clashes with the base's; use behavior: merge or replace", dir, g.Name)
				}
			}
		}
		for _, im := range k.Images {
			if !images[im.Name] {
				t.Errorf("%s: images: %s is not used by the base", dir, im.Name)
			}
		}
	}
}

// TestRendered builds the base and each overlay and checks them.
func TestRendered(t *testing.T) {
	for _, dir := range kustomizeRoots {
		t.Run(path.Base(dir), func(t *testing.T) {
			checkRendered(t, render(t, dir))
		})
	}
}

func TestDevOverlay(t *testing.T) {
	o := render(t, "k8s/overlays/dev")
	for _, w := range o.Workloads {
		if w.replicas() != 1 {
			t.Errorf("dev: %s has %d replicas, want 1", w.id(), w.replicas())
		}
	}
}

func TestProdOverlay(t *testing.T) {
	o := render(t, "k8s/overlays/prod")
	for _, svc := range []string{"ingest", "enrichment", "gateway"} {
		w := o.workload("Deployment", "bilat-"+svc)
		if w == nil || w.replicas() < 2 {
			t.Errorf("prod: bilat-%s should run at least 2 replicas", svc)
		}
	}
	nats := o.workload("StatefulSet", "bilat-nats")
	if nats == nil || nats.replicas() != 3 {
		t.Fatal("prod: want a three-node NATS cluster")
	}
	for _, w := range o.Workloads {
		if name := strings.TrimPrefix(w.Metadata.Name, "bilat-"); slices.Contains(services, name) {
			env := resolveEnv(t, o, w, &w.Spec.Template.Spec.Containers[0])
			if r := env["BILAT_STREAM_REPLICAS"]; readEnv(t)[name]["BILAT_STREAM_REPLICAS"] && r != "3" {
				t.Errorf("prod: %s has BILAT_STREAM_REPLICAS=%q, want 3", name, r)
			}
		}
	}
	if len(o.PDBs) == 0 {
		t.Error("prod: no PodDisruptionBudgets")
	}
}

// resolveEnv is a container's environment: its ConfigMaps in order, then
// its env entries with literal values.
func resolveEnv(t *testing.T, o *objects, w *workload, c *container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		cm := o.ConfigMaps[ef.ConfigMapRef.Name]
		if cm == nil {
			t.Errorf("%s: envFrom ConfigMap %s does not exist", w.id(), ef.ConfigMapRef.Name)
			continue
		}
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		if e.Value != nil {
			env[e.Name] = *e.Value
		} else {
			env[e.Name] = ""
		}
	}
	return env
}

// checkRendered checks one rendered kustomization.
func checkRendered(t *testing.T, o *objects) {
	readEnv(t)
	var streamSettings []string
	for _, w := range o.Workloads {
		checkPod(t, w)
		checkReplicasBudget(t, o, w)
		if w.Kind != "Deployment" {
			continue
		}
		s := checkService(t, o, w)
		if s != "" {
			streamSettings = append(streamSettings, s)
		}
	}
	for _, svc := range services {
		if o.workload("Deployment", "bilat-"+svc) == nil {
			t.Errorf("no Deployment bilat-%s", svc)
		}
	}
	slices.Sort(streamSettings)
	if len(slices.Compact(streamSettings)) > 1 {
		t.Errorf("the services that ensure the streams disagree on their settings: %v", streamSettings)
	}
	if st := o.workload("Deployment", "bilat-statistics"); st != nil {
		if st.Spec.Replicas == nil || *st.Spec.Replicas != 1 {
			t.Error("bilat-statistics must set replicas: 1 (one projection consumer)")
		}
		if st.Spec.Strategy.Type != "Recreate" {
			t.Errorf("bilat-statistics strategy %q, want Recreate (never two consumers during a rollout)", st.Spec.Strategy.Type)
		}
	}
	checkServices(t, o)
	checkNATS(t, o)
	checkRedis(t, o)
}

// checkPod: hardening and resources of every container.
func checkPod(t *testing.T, w *workload) {
	ps := &w.Spec.Template.Spec
	if !selects(w.Spec.Selector.MatchLabels, w.Spec.Template.Metadata.Labels) {
		t.Errorf("%s: the selector does not match the pod template", w.id())
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken should be false (no API access needed)", w.id())
	}
	if ps.EnableServiceLinks == nil || *ps.EnableServiceLinks {
		t.Errorf("%s: enableServiceLinks should be false (Service links inject BILAT_* variables)", w.id())
	}
	if ps.TerminationGracePeriodSeconds == nil {
		t.Errorf("%s: terminationGracePeriodSeconds not set", w.id())
	}
	all := slices.Concat(ps.Containers, ps.InitContainers)
	for i := range all {
		c := &all[i]
		where := w.id() + " container " + c.Name
		nonRoot, user := false, -1
		for _, sc := range []*securityContext{ps.SecurityContext, c.SecurityContext} {
			if sc == nil {
				continue
			}
			if sc.RunAsNonRoot != nil {
				nonRoot = *sc.RunAsNonRoot
			}
			if sc.RunAsUser != nil {
				user = *sc.RunAsUser
			}
		}
		if !nonRoot {
			t.Errorf("%s: runAsNonRoot is not true", where)
		}
		// With a named image user (distroless's "nonroot") the kubelet can
		// only enforce runAsNonRoot given a numeric runAsUser.
		if user <= 0 {
			t.Errorf("%s: set a numeric, non-zero runAsUser", where)
		}
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s: no securityContext", where)
		default:
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s: readOnlyRootFilesystem is not true", where)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation is not false", where)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s: capabilities do not drop ALL", where)
			}
		}
		for _, r := range []string{"cpu", "memory"} {
			if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
				t.Errorf("%s: set requests and limits for %s", where, r)
			}
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s: readiness and liveness probes are required", where)
		}
	}
}

// checkReplicasBudget: a workload that runs several replicas has a
// PodDisruptionBudget; every budget selects a workload.
func checkReplicasBudget(t *testing.T, o *objects, w *workload) {
	if w.replicas() < 2 {
		return
	}
	for _, p := range o.PDBs {
		if selects(p.Spec.Selector.MatchLabels, w.Spec.Template.Metadata.Labels) {
			return
		}
	}
	t.Errorf("%s runs %d replicas without a PodDisruptionBudget", w.id(), w.replicas())
}

func checkServices(t *testing.T, o *objects) {
	for _, p := range o.PDBs {
		found := false
		for _, w := range o.Workloads {
			found = found || selects(p.Spec.Selector.MatchLabels, w.Spec.Template.Metadata.Labels)
		}
		if !found {
			t.Errorf("PodDisruptionBudget %s selects no workload", p.Metadata.Name)
		}
	}
	for _, s := range o.Services {
		var target *workload
		for _, w := range o.Workloads {
			if selects(s.Spec.Selector, w.Spec.Template.Metadata.Labels) {
				target = w
			}
		}
		if target == nil {
			t.Errorf("Service %s selects no workload", s.Metadata.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			ok := false
			for i := range target.Spec.Template.Spec.Containers {
				c := &target.Spec.Template.Spec.Containers[i]
				tp := p.TargetPort
				if tp.s == "" {
					tp.s = strconv.Itoa(p.Port)
				}
				if n := c.port(tp); n > 0 && slices.ContainsFunc(c.Ports, func(cp containerPort) bool { return cp.ContainerPort == n }) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("Service %s port %s (%d) targets no container port of %s", s.Metadata.Name, p.Name, p.Port, target.id())
			}
		}
	}
}

// checkService checks a service's Deployment against the service's code
// and returns its stream settings (empty when it does not ensure streams).
func checkService(t *testing.T, o *objects, w *workload) string {
	ps := &w.Spec.Template.Spec
	if len(ps.Containers) != 1 {
		t.Errorf("%s: want one container", w.id())
		return ""
	}
	c := &ps.Containers[0]
	svc := c.Name
	if !slices.Contains(services, svc) || w.Metadata.Name != "bilat-"+svc {
		t.Errorf("%s: container %q is not one of the services %v", w.id(), svc, services)
		return ""
	}
	if got := imageName(c.Image); got != "bilat/"+svc {
		t.Errorf("%s: image %s, want bilat/%s (deploy/docker/Dockerfile --build-arg SERVICE=%s)", w.id(), c.Image, svc, svc)
	}
	readable := readEnv(t)[svc]
	env := resolveEnv(t, o, w, c)
	for k := range env {
		if strings.HasPrefix(k, "BILAT_") && !readable[k] {
			t.Errorf("%s: %s is set, but %s does not read it", w.id(), k, svc)
		}
	}

	// Listen addresses, container ports, the service's defaults.
	def := defaultPorts(t, svc)
	ports := map[string]int{}
	for name, v := range map[string]string{"grpc": "BILAT_GRPC_ADDR", "http": "BILAT_HTTP_ADDR"} {
		addr, ok := env[v]
		if !ok {
			t.Errorf("%s: %s is not set (the default listens on the loopback only)", w.id(), v)
			continue
		}
		if host, _, _ := strings.Cut(addr, ":"); host != "0.0.0.0" && !strings.HasPrefix(addr, "[::]") && !strings.HasPrefix(addr, ":") {
			t.Errorf("%s: %s=%s does not listen on all interfaces", w.id(), v, addr)
		}
		ports[name] = addrPort(t, addr)
		if cp := c.portNamed(name); cp != ports[name] {
			t.Errorf("%s: container port %q is %d, but %s=%s", w.id(), name, cp, v, addr)
		}
	}
	if ports["grpc"] != def.GRPCPort || ports["http"] != def.HTTPPort {
		t.Errorf("%s: ports grpc %d, http %d; the image EXPOSEs the defaults %d, %d", w.id(), ports["grpc"], ports["http"], def.GRPCPort, def.HTTPPort)
	}

	// Probes: readiness (and startup) is grpc.health.v1 on the gRPC port;
	// liveness is that or /healthz on the HTTP port.
	for name, p := range map[string]*probe{"startupProbe": c.StartupProbe, "readinessProbe": c.ReadinessProbe} {
		if p == nil || p.GRPC == nil || p.GRPC.Port != ports["grpc"] {
			t.Errorf("%s: %s should be a grpc probe on the gRPC port %d", w.id(), name, ports["grpc"])
		}
	}
	if p := c.LivenessProbe; p != nil {
		grpcOK := p.GRPC != nil && p.GRPC.Port == ports["grpc"]
		httpOK := p.HTTPGet != nil && p.HTTPGet.Path == "/healthz" && c.port(p.HTTPGet.Port) == ports["http"]
		if !grpcOK && !httpOK {
			t.Errorf("%s: livenessProbe should be grpc on port %d or /healthz on port %d", w.id(), ports["grpc"], ports["http"])
		}
	}

	// Prometheus scrapes the HTTP port.
	an := w.Spec.Template.Metadata.Annotations
	if an["prometheus.io/scrape"] != "true" || an["prometheus.io/port"] != strconv.Itoa(ports["http"]) || an["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: want prometheus.io annotations scrape=true, port=%d, path=/metrics; got %v", w.id(), ports["http"], an)
	}

	// A ClusterIP Service for the gRPC port.
	found := false
	for _, s := range o.Services {
		if !selects(s.Spec.Selector, w.Spec.Template.Metadata.Labels) || (s.Spec.Type != "" && s.Spec.Type != "ClusterIP") || s.Spec.ClusterIP == "None" {
			continue
		}
		for _, p := range s.Spec.Ports {
			tp := p.TargetPort
			if tp.s == "" {
				tp.s = strconv.Itoa(p.Port)
			}
			found = found || (p.Port == ports["grpc"] && c.port(tp) == ports["grpc"])
		}
	}
	if !found {
		t.Errorf("%s: no ClusterIP Service for the gRPC port %d", w.id(), ports["grpc"])
	}

	// Shutdown drains the consumer, then stops gRPC, each step bounded by
	// the shutdown timeout: the grace period must cover both.
	timeout := 15 * time.Second
	if v, ok := env["BILAT_SHUTDOWN_TIMEOUT"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Errorf("%s: BILAT_SHUTDOWN_TIMEOUT=%q: %v", w.id(), v, err)
		}
		timeout = d
	}
	if g := ps.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= 2*timeout {
		t.Errorf("%s: terminationGracePeriodSeconds must exceed twice the shutdown timeout (%s)", w.id(), timeout)
	}

	for _, v := range []string{"BILAT_NATS_URL", "BILAT_REDIS_URL"} {
		if u, ok := env[v]; ok {
			checkURL(t, o, w.id()+": "+v, u)
		}
	}
	if !readable["BILAT_STREAM_REPLICAS"] {
		return ""
	}
	r, ok := env["BILAT_STREAM_REPLICAS"]
	if !ok {
		t.Errorf("%s: BILAT_STREAM_REPLICAS is not set", w.id())
	}
	return "BILAT_STREAM_REPLICAS=" + r + " BILAT_DUPLICATE_WINDOW=" + env["BILAT_DUPLICATE_WINDOW"]
}

// checkURL: a nats:// or redis:// URL names a Service port of the manifests.
func checkURL(t *testing.T, o *objects, what, raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Errorf("%s=%s: name the port", what, raw)
		return
	}
	s := o.service(u.Hostname())
	if s == nil {
		t.Errorf("%s=%s: no Service %s", what, raw, u.Hostname())
		return
	}
	if !slices.ContainsFunc(s.Spec.Ports, func(p servicePort) bool { return p.Port == port }) {
		t.Errorf("%s=%s: Service %s has no port %d", what, raw, s.Metadata.Name, port)
	}
}

// streamReplicas is BILAT_STREAM_REPLICAS as the services get it.
func streamReplicas(t *testing.T, o *objects) int {
	for _, w := range o.Workloads {
		name := strings.TrimPrefix(w.Metadata.Name, "bilat-")
		if w.Kind != "Deployment" || !readEnv(t)[name]["BILAT_STREAM_REPLICAS"] {
			continue
		}
		if v, ok := resolveEnv(t, o, w, &w.Spec.Template.Spec.Containers[0])["BILAT_STREAM_REPLICAS"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Errorf("BILAT_STREAM_REPLICAS=%q", v)
			}
			return n
		}
	}
	return 1
}

// configFile returns the ConfigMap key mounted at file in container c.
func configFile(t *testing.T, o *objects, w *workload, c *container, file string) string {
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range w.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				cm := o.ConfigMaps[v.ConfigMap.Name]
				if cm == nil {
					t.Fatalf("%s: ConfigMap %s does not exist", w.id(), v.ConfigMap.Name)
				}
				data, ok := cm.Data[rel]
				if !ok {
					t.Fatalf("%s: ConfigMap %s has no %s", w.id(), v.ConfigMap.Name, rel)
				}
				return data
			}
		}
	}
	t.Fatalf("%s: %s is not in a mounted ConfigMap", w.id(), file)
	return ""
}

// dataMount is where the workload's volume claim template is mounted.
func dataMount(t *testing.T, w *workload, c *container) string {
	if len(w.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("%s: want one volumeClaimTemplate", w.id())
	}
	p := c.mountPath(w.Spec.VolumeClaimTemplates[0].Metadata.Name)
	if p == "" {
		t.Fatalf("%s: the persistent volume is not mounted", w.id())
	}
	return p
}

func checkRedis(t *testing.T, o *objects) {
	w := o.workload("StatefulSet", "bilat-redis")
	if w == nil {
		t.Error("no StatefulSet bilat-redis")
		return
	}
	c := &w.Spec.Template.Spec.Containers[0]
	if !strings.HasPrefix(c.Image, "redis:7") {
		t.Errorf("%s: image %s, want redis:7", w.id(), c.Image)
	}
	if len(c.Command) < 2 || c.Command[0] != "redis-server" {
		t.Fatalf("%s: want command redis-server <config file>", w.id())
	}
	conf := map[string]string{}
	for _, line := range strings.Split(configFile(t, o, w, c, c.Command[1]), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		conf[strings.ToLower(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	if limit := quantity(t, c.Resources.Limits["memory"]); conf["maxmemory"] == "" || quantity(t, conf["maxmemory"]) >= limit {
		t.Errorf("redis.conf: maxmemory %q should be set below the container's memory limit %s", conf["maxmemory"], c.Resources.Limits["memory"])
	}
	for k, want := range map[string]string{
		"appendonly":                "yes",
		"appendfsync":               "everysec",
		"maxmemory-policy":          "noeviction", // evicting a projection would lose it silently
		"hash-max-listpack-value":   "1024",
		"hash-max-listpack-entries": "64",
		"dir":                       dataMount(t, w, c),
		"port":                      strconv.Itoa(c.portNamed("redis")),
	} {
		if conf[k] != want {
			t.Errorf("redis.conf: %s %q, want %q", k, conf[k], want)
		}
	}
}
