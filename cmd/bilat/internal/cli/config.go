package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"bilat.dev/cmd/bilat/internal/format"
)

// Environment variables the tool reads.
const (
	EnvServer     = "BILAT_SERVER"
	EnvGateway    = "BILAT_GATEWAY" // older name of BILAT_SERVER, still read
	EnvIngest     = "BILAT_INGEST"
	EnvToken      = "BILAT_TOKEN"
	EnvTLSCA      = "BILAT_TLS_CA"
	EnvTimeout    = "BILAT_TIMEOUT"
	EnvOutput     = "BILAT_OUTPUT"
	EnvConfig     = "BILAT_CONFIG"
	EnvStatistics = "BILAT_STATISTICS"
	EnvEnrichment = "BILAT_ENRICHMENT"
)

// Defaults of the connection settings.
const (
	DefaultServer     = "127.0.0.1:7100" // the gateway
	DefaultIngest     = "127.0.0.1:7101"
	DefaultEnrichment = "127.0.0.1:7102"
	DefaultStatistics = "127.0.0.1:7103"
	DefaultTimeout    = 10 * time.Second
)

// DefaultGateway is the old name of DefaultServer.
const DefaultGateway = DefaultServer

// settingDef describes one setting: its config-file key, the flag that
// sets it (looked up on the running command; --statistics and
// --enrichment exist only on the commands that use them), its
// environment variables in order of preference, and its default.
type settingDef struct {
	key    string
	flag   string
	envs   []string
	def    string
	secret bool
}

var settingDefs = []settingDef{
	{key: "server", flag: "server", envs: []string{EnvServer, EnvGateway}, def: DefaultServer},
	{key: "token", flag: "token", envs: []string{EnvToken}, secret: true},
	{key: "tls-ca", flag: "tls-ca", envs: []string{EnvTLSCA}},
	{key: "timeout", flag: "timeout", envs: []string{EnvTimeout}, def: DefaultTimeout.String()},
	{key: "output", flag: "output", envs: []string{EnvOutput}, def: string(OutputTable)},
	{key: "ingest", flag: "ingest", envs: []string{EnvIngest}, def: DefaultIngest},
	{key: "statistics", flag: "statistics", envs: []string{EnvStatistics}, def: DefaultStatistics},
	{key: "enrichment", flag: "enrichment", envs: []string{EnvEnrichment}, def: DefaultEnrichment},
}

// setting is a resolved value and where it came from.
type setting struct {
	settingDef
	value  string
	source string // "flag --server", "env BILAT_SERVER", "config <path>", "default"
}

// settings are the effective settings of one run.
type settings struct {
	configPath   string
	configSource string // where the config path came from, or "none"
	list         []setting
}

func (s *settings) get(key string) string {
	for _, x := range s.list {
		if x.key == key {
			return x.value
		}
	}
	return ""
}

// defaultConfigPath is $XDG_CONFIG_HOME/bilat/config.yaml, else
// ~/.config/bilat/config.yaml; "" when neither can be found.
func defaultConfigPath(getenv func(string) string) string {
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "bilat", "config.yaml")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "bilat", "config.yaml")
	}
	return ""
}

// resolveSettings fills in every setting, flag > env > config > default,
// sets each flag that was not given to the effective value (so commands
// read flags as before), and checks the values.
func (a *app) resolveSettings(cmd *cobra.Command) error {
	st := &settings{}
	fl := cmd.Flags()
	// The config file itself: --config > BILAT_CONFIG > default path; only
	// an explicitly named file must exist.
	explicit := true
	switch f := fl.Lookup("config"); {
	case f != nil && f.Changed:
		st.configPath, st.configSource = f.Value.String(), "flag --config"
	case a.getenv(EnvConfig) != "":
		st.configPath, st.configSource = a.getenv(EnvConfig), "env "+EnvConfig
	default:
		st.configPath, st.configSource, explicit = defaultConfigPath(a.getenv), "default", false
	}
	file := map[string]string{}
	if st.configPath != "" {
		data, err := os.ReadFile(st.configPath)
		switch {
		case err == nil:
			if file, err = parseConfig(string(data)); err != nil {
				return usageErr(cmd, fmt.Errorf("config file %s: %w", st.configPath, err))
			}
		case errors.Is(err, fs.ErrNotExist) && !explicit:
			st.configSource = "default (not present)"
		default:
			return usageErr(cmd, fmt.Errorf("config file (%s): %w", st.configSource, err))
		}
	}
	for _, d := range settingDefs {
		s := setting{settingDef: d, value: d.def, source: "default"}
		f := fl.Lookup(d.flag)
		if f != nil && f.Changed {
			s.value, s.source = f.Value.String(), "flag --"+d.flag
		} else if env, v := firstEnv(a.getenv, d.envs); env != "" {
			s.value, s.source = v, "env "+env
		} else if v, ok := file[d.key]; ok {
			s.value, s.source = v, "config "+st.configPath
		}
		if f != nil && !f.Changed {
			if err := f.Value.Set(s.value); err != nil {
				return usageErr(cmd, fmt.Errorf("%s (from %s): %w", d.key, s.source, err))
			}
		}
		st.list = append(st.list, s)
	}
	a.settings = st
	a.gateway = st.get("server")
	a.ingest = st.get("ingest")
	a.token = st.get("token")
	a.tlsCA = st.get("tls-ca")
	out, err := format.ParseOutput(st.get("output"))
	if err != nil {
		return usageErr(cmd, fmt.Errorf("--output: %w", err))
	}
	a.output = out
	d, err := time.ParseDuration(st.get("timeout"))
	if err != nil {
		return usageErr(cmd, fmt.Errorf("--timeout %q: want a duration such as 10s or 1m", st.get("timeout")))
	}
	if d <= 0 {
		return usageErr(cmd, fmt.Errorf("--timeout must be positive, not %s", d))
	}
	a.timeout = d
	return nil
}

func firstEnv(getenv func(string) string, names []string) (string, string) {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return n, v
		}
	}
	return "", ""
}

// parseConfig reads the config file: "key: value" lines (a flat YAML
// mapping), "#" comments, values optionally in single or double quotes.
// Keys are the long flag names (server, token, tls-ca, timeout, output,
// ingest, statistics, enrichment; "_" may stand for "-"). Unknown keys are
// errors, so a misspelt key does not silently do nothing.
func parseConfig(text string) (map[string]string, error) {
	known := map[string]bool{}
	for _, d := range settingDefs {
		known[d.key] = true
	}
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || line == "---" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: want \"key: value\", got %q", n, line)
		}
		k = strings.ReplaceAll(strings.TrimSpace(k), "_", "-")
		if !known[k] {
			return nil, fmt.Errorf("line %d: unknown key %q (known: server, token, tls-ca, timeout, output, ingest, statistics, enrichment)", n, k)
		}
		v = strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
			u, err := strconv.Unquote(v)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			v = u
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		default:
			// An unquoted value ends at a " #" comment, as in YAML.
			if i := strings.Index(v, " #"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			}
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// mask hides a secret but for its last four characters (and only when it
// is long enough that they give nothing away).
func mask(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) < 12:
		return "****"
	default:
		return "****" + s[len(s)-4:]
	}
}

// configRow is one line of `config show`.
type configRow struct{ key, value, source string }

var configView = format.View[configRow]{
	{Name: "SETTING", Cell: func(r configRow) string { return r.key }},
	{Name: "VALUE", Cell: func(r configRow) string { return r.value }},
	{Name: "SOURCE", Cell: func(r configRow) string { return r.source }},
}

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the effective connection settings",
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print every effective setting and where it came from (token masked)",
		Long: `Print the settings this invocation would use and where each came from:
a flag, an environment variable, the config file, or the default.
Precedence: flag > environment > config file > default.

The config file is flat YAML, one "key: value" per line:

  # ~/.config/bilat/config.yaml
  server: gw.example.org:7100
  token: s3cr3t-token
  tls-ca: /etc/bilat/ca.pem
  timeout: 20s
  output: table
  ingest: ingest.example.org:7101

--config or BILAT_CONFIG names the file (it must exist); otherwise
$XDG_CONFIG_HOME/bilat/config.yaml or ~/.config/bilat/config.yaml is read
when present.`,
		Example: `  bilat config show
  BILAT_SERVER=10.0.0.5:7100 bilat config show --token abc -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st := a.settings
			rows := []configRow{{"config", format.Or(st.configPath, "-"), st.configSource}}
			for _, s := range st.list {
				v := s.value
				if s.secret {
					v = mask(v)
				}
				rows = append(rows, configRow{s.key, format.Or(v, "-"), s.source})
			}
			if a.output == OutputJSON {
				// No proto message for this: a plain JSON object per setting.
				var b strings.Builder
				b.WriteString("{\n")
				for i, r := range rows {
					fmt.Fprintf(&b, "  %q: {\"value\": %q, \"source\": %q}", r.key, r.value, r.source)
					if i < len(rows)-1 {
						b.WriteString(",")
					}
					b.WriteString("\n")
				}
				b.WriteString("}\n")
				_, err := fmt.Fprint(a.stdout, b.String())
				return err
			}
			return format.Render(a.stdout, a.output, configView, rows)
		},
	}
	cmd.AddCommand(show)
	return cmd
}
