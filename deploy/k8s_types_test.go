package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const k8sDir = "k8s"

// The kustomize roots that are applied: base on its own is valid too.
var kustomizeRoots = []string{"k8s/base", "k8s/overlays/dev", "k8s/overlays/prod"}

type meta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type header struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   meta   `yaml:"metadata"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// intOrString is a port given by number or by name.
type intOrString struct{ s string }

func (p *intOrString) UnmarshalYAML(n *yaml.Node) error { p.s = n.Value; return nil }

type probe struct {
	GRPC *struct {
		Port int `yaml:"port"`
	} `yaml:"grpc"`
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
	TCPSocket *struct {
		Port intOrString `yaml:"port"`
	} `yaml:"tcpSocket"`
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
}

type containerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []envVar `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef any `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports          []containerPort `yaml:"ports"`
	StartupProbe   *probe          `yaml:"startupProbe"`
	ReadinessProbe *probe          `yaml:"readinessProbe"`
	LivenessProbe  *probe          `yaml:"livenessProbe"`
	Lifecycle      *struct {
		PreStop *probe `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *securityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type envVar struct {
	Name      string  `yaml:"name"`
	Value     *string `yaml:"value"`
	ValueFrom any     `yaml:"valueFrom"`
}

type securityContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	RunAsUser                *int  `yaml:"runAsUser"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	Capabilities             *struct {
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
}

// port resolves a probe or Service port (number or name) to a number.
func (c *container) port(p intOrString) int {
	if n, err := strconv.Atoi(p.s); err == nil {
		return n
	}
	for _, cp := range c.Ports {
		if cp.Name == p.s {
			return cp.ContainerPort
		}
	}
	return -1
}

func (c *container) portNamed(name string) int {
	for _, cp := range c.Ports {
		if cp.Name == name {
			return cp.ContainerPort
		}
	}
	return -1
}

func (c *container) mountPath(volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

type podSpec struct {
	AutomountServiceAccountToken  *bool            `yaml:"automountServiceAccountToken"`
	EnableServiceLinks            *bool            `yaml:"enableServiceLinks"`
	TerminationGracePeriodSeconds *int             `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               *securityContext `yaml:"securityContext"`
	Containers                    []container      `yaml:"containers"`
	InitContainers                []container      `yaml:"initContainers"`
	Volumes                       []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		EmptyDir any `yaml:"emptyDir"`
	} `yaml:"volumes"`
}

// workload is a Deployment or a StatefulSet.
type workload struct {
	header `yaml:",inline"`
	Spec   struct {
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		ServiceName string        `yaml:"serviceName"`
		Selector    labelSelector `yaml:"selector"`
		Template    struct {
			Metadata meta    `yaml:"metadata"`
			Spec     podSpec `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata meta `yaml:"metadata"`
			Spec     struct {
				Resources struct {
					Requests map[string]string `yaml:"requests"`
				} `yaml:"resources"`
			} `yaml:"spec"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

func (w *workload) replicas() int {
	if w.Spec.Replicas == nil {
		return 1
	}
	return *w.Spec.Replicas
}

func (w *workload) id() string { return w.Kind + "/" + w.Metadata.Name }

type service struct {
	header `yaml:",inline"`
	Spec   struct {
		Type                     string            `yaml:"type"`
		ClusterIP                string            `yaml:"clusterIP"`
		PublishNotReadyAddresses bool              `yaml:"publishNotReadyAddresses"`
		Selector                 map[string]string `yaml:"selector"`
		Ports                    []servicePort     `yaml:"ports"`
	} `yaml:"spec"`
}

type servicePort struct {
	Name       string      `yaml:"name"`
	Port       int         `yaml:"port"`
	TargetPort intOrString `yaml:"targetPort"`
}

type configMap struct {
	header `yaml:",inline"`
	Data   map[string]string `yaml:"data"`
}

type pdb struct {
	header `yaml:",inline"`
	Spec   struct {
		Selector labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

// objects is a set of parsed manifests.
type objects struct {
	Workloads  []*workload
	Services   []*service
	ConfigMaps map[string]*configMap
	PDBs       []*pdb
	All        []header
}

// parseDocs decodes every YAML document of src.
func parseDocs(src []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var out []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" {
			continue // an empty document
		}
		out = append(out, &n)
	}
}

func decodeObjects(src []byte) (*objects, error) {
	docs, err := parseDocs(src)
	if err != nil {
		return nil, err
	}
	objs := &objects{ConfigMaps: map[string]*configMap{}}
	for _, n := range docs {
		var h header
		if err := n.Decode(&h); err != nil {
			return nil, err
		}
		objs.All = append(objs.All, h)
		switch h.Kind {
		case "Deployment", "StatefulSet":
			var w workload
			if err := n.Decode(&w); err != nil {
				return nil, fmt.Errorf("%s %s: %w", h.Kind, h.Metadata.Name, err)
			}
			objs.Workloads = append(objs.Workloads, &w)
		case "Service":
			var s service
			if err := n.Decode(&s); err != nil {
				return nil, fmt.Errorf("Service %s: %w", h.Metadata.Name, err)
			}
			objs.Services = append(objs.Services, &s)
		case "ConfigMap":
			var c configMap
			if err := n.Decode(&c); err != nil {
				return nil, fmt.Errorf("ConfigMap %s: %w", h.Metadata.Name, err)
			}
			objs.ConfigMaps[c.Metadata.Name] = &c
		case "PodDisruptionBudget":
			var p pdb
			if err := n.Decode(&p); err != nil {
				return nil, fmt.Errorf("PodDisruptionBudget %s: %w", h.Metadata.Name, err)
			}
			objs.PDBs = append(objs.PDBs, &p)
		}
	}
	return objs, nil
}

func (o *objects) workload(kind, name string) *workload {
	for _, w := range o.Workloads {
		if w.Kind == kind && w.Metadata.Name == name {
			return w
		}
	}
	return nil
}

func (o *objects) service(name string) *service {
	for _, s := range o.Services {
		if s.Metadata.Name == name {
			return s
		}
	}
	return nil
}

// selects reports whether selector (non-empty) matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

var (
	renderMu sync.Mutex
	renders  = map[string]*objects{}
)

// render builds a kustomization in-process, as `kubectl kustomize` would.
func render(t *testing.T, dir string) *objects {
	t.Helper()
	renderMu.Lock()
	defer renderMu.Unlock()
	if o, ok := renders[dir]; ok {
		return o
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	o, err := decodeObjects(out)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	renders[dir] = o
	return o
}

// kustomization is the part of kustomization.yaml the tests look at.
type kustomization struct {
	Resources  []string `yaml:"resources"`
	Components []string `yaml:"components"`
	Patches    []struct {
		Path   string `yaml:"path"`
		Patch  string `yaml:"patch"`
		Target *struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"target"`
	} `yaml:"patches"`
	PatchesStrategicMerge []string    `yaml:"patchesStrategicMerge"`
	PatchesJSON6902       []any       `yaml:"patchesJson6902"`
	ConfigMapGenerator    []generator `yaml:"configMapGenerator"`
	SecretGenerator       []generator `yaml:"secretGenerator"`
	Replicas              []struct {
		Name  string `yaml:"name"`
		Count int    `yaml:"count"`
	} `yaml:"replicas"`
	Images []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
}

type generator struct {
	Name     string   `yaml:"name"`
	Behavior string   `yaml:"behavior"`
	Files    []string `yaml:"files"`
	Envs     []string `yaml:"envs"`
	Literals []string `yaml:"literals"`
}

func loadKustomization(t *testing.T, dir string) *kustomization {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	return &k
}

// files lists the local files a kustomization refers to (relative to dir).
func (k *kustomization) files() []string {
	var out []string
	out = append(out, k.Resources...)
	out = append(out, k.Components...)
	for _, p := range k.Patches {
		if p.Path != "" {
			out = append(out, p.Path)
		}
	}
	out = append(out, k.PatchesStrategicMerge...)
	for _, g := range slices.Concat(k.ConfigMapGenerator, k.SecretGenerator) {
		for _, f := range g.Files {
			if _, p, ok := strings.Cut(f, "="); ok {
				f = p
			}
			out = append(out, f)
		}
		out = append(out, g.Envs...)
	}
	return out
}

// quantity parses a Kubernetes quantity or a Redis/NATS size ("10Gi",
// "512Mi", "8GB", "384mb") into bytes; binary and decimal suffixes are both
// read as powers of 1024, as Redis and NATS do.
func quantity(t *testing.T, s string) int64 {
	t.Helper()
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		t.Fatalf("size %q: %v", s, err)
	}
	switch strings.ToLower(strings.TrimSuffix(strings.ToLower(s[i:]), "i")) {
	case "", "b":
		return n
	case "k", "kb":
		return n << 10
	case "m", "mb":
		return n << 20
	case "g", "gb":
		return n << 30
	case "t", "tb":
		return n << 40
	}
	t.Fatalf("size %q: unknown unit", s)
	return 0
}
