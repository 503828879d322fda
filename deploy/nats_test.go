package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// checkNATS parses the NATS configuration of a rendered kustomization with
// nats-server's own parser and checks it against the StatefulSet and the
// stream settings: JetStream on the volume, every write fsynced, and on
// more than one node a cluster whose routes are exactly the StatefulSet's
// pods.
func checkNATS(t *testing.T, o *objects) {
	w := o.workload("StatefulSet", "bilat-nats")
	if w == nil {
		t.Error("no StatefulSet bilat-nats")
		return
	}
	c := &w.Spec.Template.Spec.Containers[0]
	if !strings.HasPrefix(c.Image, "nats:2.") {
		t.Errorf("%s: image %s, want the official nats:2.x", w.id(), c.Image)
	}
	i := slices.Index(c.Args, "--config")
	if i < 0 || i+1 >= len(c.Args) {
		t.Fatalf("%s: want args --config <file>", w.id())
	}
	file := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(file, []byte(configFile(t, o, w, c, c.Args[i+1])), 0o600); err != nil {
		t.Fatal(err)
	}
	// The server name comes from the pod's name.
	if !slices.ContainsFunc(c.Env, func(e envVar) bool { return e.Name == "POD_NAME" && e.ValueFrom != nil }) {
		t.Errorf("%s: POD_NAME is not set from the pod's name", w.id())
	}
	t.Setenv("POD_NAME", w.Metadata.Name+"-0")
	opts, err := server.ProcessConfigFile(file)
	if err != nil {
		t.Fatalf("nats.conf: %v", err)
	}

	if !opts.JetStream {
		t.Error("nats.conf: JetStream is off")
	}
	if !opts.SyncAlways {
		t.Error("nats.conf: jetstream { sync_interval: always } is not set: acknowledged writes could be lost on power failure")
	}
	if want := dataMount(t, w, c); filepath.Clean(opts.StoreDir) != want {
		t.Errorf("nats.conf: store_dir %s is not the persistent volume %s", opts.StoreDir, want)
	}
	if vol := quantity(t, w.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests["storage"]); opts.JetStreamMaxStore <= 0 || opts.JetStreamMaxStore >= vol {
		t.Errorf("nats.conf: max_file_store %d should be set below the volume's %d bytes", opts.JetStreamMaxStore, vol)
	}
	if opts.ServerName != w.Metadata.Name+"-0" {
		t.Errorf("nats.conf: server_name %q, want $POD_NAME", opts.ServerName)
	}
	if opts.Port != c.portNamed("client") {
		t.Errorf("nats.conf: port %d, container port client %d", opts.Port, c.portNamed("client"))
	}
	if opts.HTTPPort != c.portNamed("monitor") {
		t.Errorf("nats.conf: http_port %d, container port monitor %d", opts.HTTPPort, c.portNamed("monitor"))
	}
	for name, p := range map[string]*probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || c.port(p.HTTPGet.Port) != opts.HTTPPort || !strings.HasPrefix(p.HTTPGet.Path, "/healthz") {
			t.Errorf("%s: %s probe should be /healthz on the monitoring port %d", w.id(), name, opts.HTTPPort)
		}
	}
	// Lame duck on preStop, within the grace period.
	if opts.PidFile == "" || c.mountPath(volumeAt(c, filepath.Dir(opts.PidFile))) == "" {
		t.Errorf("nats.conf: pid_file %q is not on a mounted volume", opts.PidFile)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil ||
		!slices.Contains(c.Lifecycle.PreStop.Exec.Command, "ldm="+opts.PidFile) {
		t.Errorf("%s: preStop should signal lame duck mode (ldm=%s)", w.id(), opts.PidFile)
	}
	if g := w.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= opts.LameDuckDuration {
		t.Errorf("%s: terminationGracePeriodSeconds must exceed lame_duck_duration %s", w.id(), opts.LameDuckDuration)
	}

	// Stream replicas: never more than the nodes; 3 on a cluster.
	nodes, replicas := w.replicas(), streamReplicas(t, o)
	switch {
	case nodes == 1 && replicas != 1:
		t.Errorf("BILAT_STREAM_REPLICAS=%d on a single NATS node, want 1", replicas)
	case nodes > 1 && replicas != 3:
		t.Errorf("BILAT_STREAM_REPLICAS=%d on a %d-node NATS cluster, want 3", replicas, nodes)
	}

	hl := o.service(w.Spec.ServiceName)
	if hl == nil || hl.Spec.ClusterIP != "None" || !hl.Spec.PublishNotReadyAddresses {
		t.Errorf("%s: serviceName %q should be a headless Service publishing not-ready addresses", w.id(), w.Spec.ServiceName)
		return
	}
	if nodes == 1 {
		if opts.Cluster.Port != 0 {
			t.Error("nats.conf: a cluster block on a single node")
		}
		return
	}
	if opts.Cluster.Name == "" || opts.Cluster.Port == 0 {
		t.Fatalf("nats.conf: %d nodes need a cluster { name, listen }", nodes)
	}
	if opts.Cluster.Port != c.portNamed("cluster") {
		t.Errorf("nats.conf: cluster port %d, container port cluster %d", opts.Cluster.Port, c.portNamed("cluster"))
	}
	if !slices.ContainsFunc(hl.Spec.Ports, func(p servicePort) bool { return p.Port == opts.Cluster.Port }) {
		t.Errorf("Service %s does not publish the cluster port %d", hl.Metadata.Name, opts.Cluster.Port)
	}
	var got, want []string
	for _, r := range opts.Routes {
		got = append(got, r.Host)
	}
	for i := range nodes {
		want = append(want, fmt.Sprintf("%s-%d.%s:%d", w.Metadata.Name, i, w.Spec.ServiceName, opts.Cluster.Port))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("nats.conf: routes %v, want the StatefulSet's pods %v", got, want)
	}
}

// volumeAt is the name of the volume mounted at dir, or "".
func volumeAt(c *container, dir string) string {
	for _, m := range c.VolumeMounts {
		if filepath.Clean(m.MountPath) == filepath.Clean(dir) {
			return m.Name
		}
	}
	return ""
}
