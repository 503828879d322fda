package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU accounting: what each process of the run spent on a phase, read
// from /proc/<pid>/stat, so the report says where a figure's limit lies
// (the two cores are shared by the services, Redis, NATS and the load).

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// procCPU is the user plus system CPU time pid has used (0 when unknown).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after it
	// start after its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+k) * clockTick
}

// cpuTimes is the CPU time used so far by each process, by name: the
// four services, "redis", "bench" (this process: the load generators, and
// NATS unless it runs as its own process, "nats") and, while it runs,
// "bare" (the bare gRPC server).
type cpuTimes map[string]time.Duration

// cpuNow reads cpuTimes of the stack, plus the extra processes given.
func (st *stack) cpuNow(ctx context.Context, extra map[string]int) cpuTimes {
	t := cpuTimes{"bench": procCPU(os.Getpid())}
	for name, p := range st.procs {
		if p.cmd != nil && p.cmd.Process != nil {
			t[name] = procCPU(p.cmd.Process.Pid)
		}
	}
	if st.nats != nil && st.nats.cmd != nil {
		t["nats"] = procCPU(st.nats.cmd.Process.Pid)
	}
	if pid := st.redisPID(ctx); pid > 0 {
		t["redis"] = procCPU(pid)
	}
	for name, pid := range extra {
		t[name] = procCPU(pid)
	}
	return t
}

// since is the CPU time each process used between then and t; a process
// that restarted in between (its time went back) is left out.
func (t cpuTimes) since(then cpuTimes) cpuTimes {
	d := cpuTimes{}
	for name, v := range t {
		if w, ok := then[name]; ok && v >= w {
			d[name] = v - w
		}
	}
	return d
}

// plus adds o's times to t's.
func (t cpuTimes) plus(o cpuTimes) cpuTimes {
	s := cpuTimes{}
	for name, v := range t {
		s[name] = v
	}
	for name, v := range o {
		s[name] += v
	}
	return s
}

// per is µs of CPU of name per unit of work (0 when n is 0).
func (t cpuTimes) per(name string, n float64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(t[name].Microseconds()) / n
}

// all is the µs of CPU all processes in t used together.
func (t cpuTimes) all() float64 {
	var sum time.Duration
	for _, v := range t {
		sum += v
	}
	return float64(sum.Microseconds())
}

// cpuLabel names the processes of cpuTimes in the report.
func (st *stack) cpuLabel(name string) string {
	switch name {
	case "redis":
		return "redis-server"
	case "nats":
		return "nats-server"
	case "bench":
		if st.ns != nil {
			return "bench process (NATS, load generators)"
		}
		return "bench process (load generators)"
	case "bare":
		return "bare gRPC server"
	}
	return name
}
