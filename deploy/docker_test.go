package deploy

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const dockerfilePath = "docker/Dockerfile"

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Line int
	Cmd  string // upper case
	Args string
}

// stage is one FROM and what follows it.
type stage struct {
	From, Name string
	Instrs     []instruction
}

type dockerfile struct {
	GlobalArgs map[string]string
	Stages     []*stage
}

func parseDockerfile(t *testing.T, src string) *dockerfile {
	t.Helper()
	df := &dockerfile{GlobalArgs: map[string]string{}}
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			line = strings.TrimSuffix(line, `\`)
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				continue
			}
			line += " " + next
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			st := &stage{From: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = f[2]
			}
			df.Stages = append(df.Stages, st)
			continue
		}
		if len(df.Stages) == 0 {
			if in.Cmd != "ARG" {
				t.Fatalf("%s:%d: %s before the first FROM", dockerfilePath, start, in.Cmd)
			}
			k, v, _ := strings.Cut(in.Args, "=")
			df.GlobalArgs[k] = v
			continue
		}
		st := df.Stages[len(df.Stages)-1]
		st.Instrs = append(st.Instrs, in)
	}
	return df
}

func (df *dockerfile) stage(name string) *stage {
	for _, s := range df.Stages {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// chain is the stage and the stages it is built FROM, nearest first.
func (df *dockerfile) chain(s *stage) []*stage {
	out := []*stage{s}
	for {
		parent := df.stage(s.From)
		if parent == nil || slices.Contains(out, parent) {
			return out
		}
		out = append(out, parent)
		s = parent
	}
}

func (s *stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Instrs {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// env parses the stage's ENV instructions (key=value form).
func (s *stage) env(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, in := range s.all("ENV") {
		for _, f := range strings.Fields(in.Args) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				t.Fatalf("%s:%d: use ENV key=value", dockerfilePath, in.Line)
			}
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// copyArgs splits a COPY into its flags, sources and destination.
func copyArgs(t *testing.T, in instruction) (flags map[string]string, srcs []string, dst string) {
	t.Helper()
	flags = map[string]string{}
	f := strings.Fields(in.Args)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
		flags[k] = v
		f = f[1:]
	}
	if len(f) < 2 {
		t.Fatalf("%s:%d: COPY needs a source and a destination", dockerfilePath, in.Line)
	}
	return flags, f[:len(f)-1], f[len(f)-1]
}

func expand(s string, vars map[string]string) string {
	return os.Expand(s, func(k string) string { return vars[k] })
}

func loadDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	return parseDockerfile(t, readFile(t, dockerfilePath))
}

// TestDockerfileStages: the build and runtime images, and one final stage
// per program selected by SERVICE.
func TestDockerfileStages(t *testing.T) {
	df := loadDockerfile(t)
	build := df.stage("build")
	if build == nil {
		t.Fatal("no build stage")
	}
	goMinor := strings.Join(strings.SplitN(goVersion(t), ".", 3)[:2], ".")
	if got := expand(build.From, df.GlobalArgs); got != "golang:"+goMinor {
		t.Errorf("build stage FROM %s, want golang:%s (go.work's go %s)", got, goMinor, goVersion(t))
	}
	last := df.Stages[len(df.Stages)-1]
	if last.From != "${SERVICE}" && last.From != "$SERVICE" {
		t.Errorf("final stage FROM %s, want ${SERVICE}", last.From)
	}
	if def := df.GlobalArgs["SERVICE"]; !slices.Contains(programs, def) {
		t.Errorf("ARG SERVICE default %q is not one of %v", def, programs)
	}
	for _, p := range programs {
		st := df.stage(p)
		if st == nil {
			t.Errorf("no stage %q for SERVICE=%s", p, p)
			continue
		}
		ch := df.chain(st)
		base := ch[len(ch)-1].From
		if base != "gcr.io/distroless/static-debian12:nonroot" {
			t.Errorf("stage %s is based on %s, want gcr.io/distroless/static-debian12:nonroot", p, base)
		}
		user := ""
		for i := len(ch) - 1; i >= 0; i-- {
			for _, in := range ch[i].all("USER") {
				user = in.Args
			}
		}
		for _, in := range last.all("USER") {
			user = in.Args
		}
		if u, _, _ := strings.Cut(user, ":"); u != "nonroot" && u != "65532" {
			t.Errorf("stage %s runs as user %q, want nonroot", p, user)
		}
		// The binary copied from the build stage is the entrypoint.
		var bin string
		for _, in := range st.all("COPY") {
			flags, _, dst := copyArgs(t, in)
			if flags["from"] == "build" {
				bin = dst
			}
		}
		eps := st.all("ENTRYPOINT")
		if len(eps) != 1 {
			t.Errorf("stage %s: want one ENTRYPOINT", p)
			continue
		}
		var ep []string
		if err := json.Unmarshal([]byte(eps[0].Args), &ep); err != nil || len(ep) == 0 {
			t.Errorf("stage %s: ENTRYPOINT must be exec form: %s", p, eps[0].Args)
			continue
		}
		if bin == "" || ep[0] != bin {
			t.Errorf("stage %s: ENTRYPOINT %s is not the binary copied from build (%q)", p, ep[0], bin)
		}
	}
}

// TestDockerfileBuild: a static, trimmed build of whichever program SERVICE
// names, all of which exist.
func TestDockerfileBuild(t *testing.T) {
	df := loadDockerfile(t)
	build := df.stage("build")
	env := build.env(t)
	var run string
	for _, in := range build.all("RUN") {
		if strings.Contains(in.Args, "go build") {
			run = in.Args
		}
	}
	if run == "" {
		t.Fatal("build stage: no RUN ... go build")
	}
	if env["CGO_ENABLED"] != "0" && !strings.Contains(run, "CGO_ENABLED=0") {
		t.Error("build stage: CGO_ENABLED=0 is not set")
	}
	for _, want := range []string{"-trimpath", `-ldflags "-s -w"`} {
		if !strings.Contains(run, want) {
			t.Errorf("go build without %s", want)
		}
	}
	for _, p := range programs {
		if !regexp.MustCompile(`\b` + p + `\b[|)]`).MatchString(run) {
			t.Errorf("the build RUN does not accept SERVICE=%s", p)
		}
	}
	if !strings.Contains(run, "./services/${SERVICE}/cmd/${SERVICE}") || !strings.Contains(run, "./cmd/bilat") {
		t.Error("the build RUN should build ./services/${SERVICE}/cmd/${SERVICE} or ./cmd/bilat")
	}
	for _, svc := range services {
		if _, err := os.Stat(repoPath("services", svc, "cmd", svc, "main.go")); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(repoPath("cmd", "bilat", "main.go")); err != nil {
		t.Error(err)
	}
}

// TestDockerfileCopies: every COPY from the context names paths that exist
// and that .dockerignore lets through; the module files of every workspace
// module come first (before the download), the sources after it.
func TestDockerfileCopies(t *testing.T) {
	df := loadDockerfile(t)
	ign := loadDockerignore(t)
	for _, st := range df.Stages {
		for _, in := range st.all("COPY") {
			flags, srcs, _ := copyArgs(t, in)
			if flags["from"] != "" {
				if df.stage(flags["from"]) == nil {
					t.Errorf("%s:%d: COPY --from=%s: no such stage", dockerfilePath, in.Line, flags["from"])
				}
				continue
			}
			for _, src := range srcs {
				checkContextPath(t, ign, in.Line, src)
			}
		}
	}

	build := df.stage("build")
	download := -1
	copied := map[string]int{} // context path -> instruction index
	for i, in := range build.Instrs {
		switch in.Cmd {
		case "RUN":
			if download < 0 && strings.Contains(in.Args, "go mod download") {
				download = i
			}
		case "COPY":
			_, srcs, dst := copyArgs(t, in)
			for _, src := range srcs {
				src = strings.TrimSuffix(filepath.ToSlash(filepath.Clean(src)), "/")
				if _, seen := copied[src]; !seen {
					copied[src] = i
				}
				// The workspace in /src must mirror the repository.
				want := path.Dir(src)
				if fi, err := os.Stat(repoPath(src)); err == nil && fi.IsDir() {
					want = src
				}
				if path.Clean(dst) != want {
					t.Errorf("%s:%d: COPY %s to %s, want %s/ (the repository's layout)", dockerfilePath, in.Line, src, dst, want)
				}
			}
		}
	}
	if download < 0 {
		t.Fatal("build stage: no RUN go mod download")
	}
	need := []string{"go.work", "go.work.sum"}
	for _, m := range workspaceModules(t) {
		need = append(need, m+"/go.mod")
		// A module without requirements outside the workspace has no go.sum.
		if _, err := os.Stat(repoPath(m, "go.sum")); err == nil {
			need = append(need, m+"/go.sum")
		}
	}
	for _, f := range need {
		i, ok := copied[f]
		switch {
		case !ok:
			t.Errorf("build stage does not COPY %s (every module of go.work is needed to load the workspace)", f)
		case i > download:
			t.Errorf("build stage copies %s after go mod download: the download layer is not cached", f)
		}
	}
	// The sources of the programs and of every module they import, after
	// the download.
	for _, dir := range []string{"pkg", "proto", "services", "cmd"} {
		i, ok := copied[dir]
		switch {
		case !ok:
			t.Errorf("build stage does not COPY %s/", dir)
		case i < download:
			t.Errorf("build stage copies %s/ before go mod download: every source change refetches modules", dir)
		}
	}
}

func checkContextPath(t *testing.T, ign *dockerignore, line int, src string) {
	t.Helper()
	rel := filepath.ToSlash(filepath.Clean(src))
	if strings.HasPrefix(rel, "../") || strings.HasPrefix(rel, "/") || strings.ContainsAny(rel, "*?[") {
		t.Errorf("%s:%d: COPY %s: want a plain path inside the context", dockerfilePath, line, src)
		return
	}
	fi, err := os.Stat(repoPath(rel))
	if err != nil {
		t.Errorf("%s:%d: COPY %s: %v", dockerfilePath, line, src, err)
		return
	}
	if !fi.IsDir() {
		if ign.ignored(rel) {
			t.Errorf("%s:%d: COPY %s: excluded by .dockerignore", dockerfilePath, line, src)
		}
		return
	}
	// Some file must get through, and every Go file a build needs.
	kept := 0
	_ = filepath.WalkDir(repoPath(rel), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		r, _ := filepath.Rel(repoRoot, p)
		r = filepath.ToSlash(r)
		if !ign.ignored(r) {
			kept++
			return nil
		}
		built := strings.HasSuffix(r, ".go") && !strings.HasSuffix(r, "_test.go") && !strings.Contains(r, "/testdata/")
		if built || path.Base(r) == "go.mod" || path.Base(r) == "go.sum" {
			t.Errorf("%s:%d: COPY %s: .dockerignore excludes %s, which the build needs", dockerfilePath, line, src, r)
		}
		return nil
	})
	if kept == 0 {
		t.Errorf("%s:%d: COPY %s: every file is excluded by .dockerignore", dockerfilePath, line, src)
	}
}

// TestDockerfileServiceStages: each service image listens on all
// interfaces on its default ports, EXPOSEs exactly those, and sets only
// variables the service reads; the enrichment image carries the gazetteer.
func TestDockerfileServiceStages(t *testing.T) {
	df := loadDockerfile(t)
	env := readEnv(t)
	for _, svc := range services {
		st := df.stage(svc)
		if st == nil {
			t.Errorf("no stage %s", svc)
			continue
		}
		def := defaultPorts(t, svc)
		var exposed []int
		for _, in := range st.all("EXPOSE") {
			for _, f := range strings.Fields(in.Args) {
				p, _, _ := strings.Cut(f, "/")
				exposed = append(exposed, addrPort(t, "x:"+p))
			}
		}
		slices.Sort(exposed)
		want := []int{min(def.GRPCPort, def.HTTPPort), max(def.GRPCPort, def.HTTPPort)}
		if !slices.Equal(exposed, want) {
			t.Errorf("stage %s EXPOSEs %v, want the service's default ports %v", svc, exposed, want)
		}
		vars := map[string]string{}
		for _, s := range slices.Backward(df.chain(st)) {
			for k, v := range s.env(t) {
				vars[k] = v
			}
		}
		for k := range vars {
			if strings.HasPrefix(k, "BILAT_") && !env[svc][k] {
				t.Errorf("stage %s sets %s, which %s does not read", svc, k, svc)
			}
		}
		for k, port := range map[string]int{"BILAT_GRPC_ADDR": def.GRPCPort, "BILAT_HTTP_ADDR": def.HTTPPort} {
			v, ok := vars[k]
			if !ok {
				t.Errorf("stage %s: %s is not set (the default listens on the loopback only)", svc, k)
				continue
			}
			if host := strings.TrimSuffix(v, ":"+strconv.Itoa(port)); host == v || (host != "0.0.0.0" && host != "" && host != "[::]") {
				t.Errorf("stage %s: %s=%s, want all interfaces on port %d", svc, k, v, port)
			}
		}
	}

	// Data files a stage names in its environment must be copied into it.
	for stage, vars := range map[string][]string{
		"enrichment": {"BILAT_GAZETTEER", "BILAT_FX"},
		"statistics": {"BILAT_GAZETTEER"},
	} {
		st := df.stage(stage)
		env := st.env(t)
		for _, v := range vars {
			path := env[v]
			if path == "" {
				t.Errorf("%s stage: %s is not set", stage, v)
				continue
			}
			found := false
			for _, in := range st.all("COPY") {
				flags, srcs, dst := copyArgs(t, in)
				if flags["from"] != "" || len(srcs) != 1 {
					continue
				}
				rel, inDir := strings.CutPrefix(path, strings.TrimSuffix(dst, "/")+"/")
				if dst == path {
					rel = ""
				} else if !inDir {
					continue
				}
				if _, err := os.Stat(repoPath(srcs[0], rel)); err != nil {
					t.Errorf("%s stage: %s=%s: %v", stage, v, path, err)
				}
				found = true
			}
			if !found {
				t.Errorf("%s stage: %s=%q is not provided by any COPY", stage, v, path)
			}
		}
	}
}

// dockerignore implements the matching of .dockerignore files: the last
// matching pattern wins, a pattern matching a parent directory matches
// everything below it, and '!' re-includes.
type dockerignore struct {
	patterns []ignorePattern
}

type ignorePattern struct {
	re        *regexp.Regexp
	exclusion bool
}

func loadDockerignore(t *testing.T) *dockerignore {
	t.Helper()
	d := &dockerignore{}
	for _, line := range strings.Split(readFile(t, repoPath(".dockerignore")), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{}
		if strings.HasPrefix(line, "!") {
			p.exclusion = true
			line = strings.TrimSpace(line[1:])
		}
		line = strings.TrimPrefix(path.Clean(line), "/")
		p.re = regexp.MustCompile(globRegexp(line))
		d.patterns = append(d.patterns, p)
	}
	return d
}

func globRegexp(glob string) string {
	var sb strings.Builder
	sb.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			if i+1 < len(glob) && glob[i+1] == '*' {
				i++
				if i+1 < len(glob) && glob[i+1] == '/' {
					i++
					sb.WriteString("(.*/)?")
				} else {
					sb.WriteString(".*")
				}
			} else {
				sb.WriteString("[^/]*")
			}
		case '?':
			sb.WriteString("[^/]")
		case '\\':
			if i+1 < len(glob) {
				i++
				sb.WriteString(regexp.QuoteMeta(string(glob[i])))
			}
		default:
			sb.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	sb.WriteString("$")
	return sb.String()
}

func (d *dockerignore) ignored(file string) bool {
	parts := strings.Split(file, "/")
	matched := false
	for _, p := range d.patterns {
		// An inclusion only matters while not excluded, an exclusion only
		// once excluded.
		if p.exclusion != matched {
			continue
		}
		m := p.re.MatchString(file)
		for i := 1; !m && i < len(parts); i++ {
			m = p.re.MatchString(strings.Join(parts[:i], "/"))
		}
		if m {
			matched = !p.exclusion
		}
	}
	return matched
}

func TestDockerignore(t *testing.T) {
	ign := loadDockerignore(t)
	for file, want := range map[string]bool{
		".git/config":                                true,
		"bin/ingest":                                 true,
		".run/nats/jetstream":                        true,
		"e2e/pipeline_test.go":                       true,
		"data/agreements.ndjson":                     true,
		"services/ingest/cmd/ingest/main.go":         false,
		"services/ingest/cmd/ingest/main_test.go":    true,
		"services/ingest/internal/domain/testdata/x": true,
		"e2e/go.mod":                                 false,
		"deploy/go.sum":                              false,
		"data/gazetteer/entities.ndjson":             false,
		"go.work":                                    false,
	} {
		if got := ign.ignored(file); got != want {
			t.Errorf(".dockerignore: %s ignored = %v, want %v", file, got, want)
		}
	}
}
