package cgroup

import (
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"testing"
)

// withFiles returns base plus more.
func withFiles(base map[string]string, more map[string]string) map[string]string {
	out := maps.Clone(base)
	maps.Copy(out, more)
	return out
}

func TestIOStats(t *testing.T) {
	const name = "madang/i-1"
	v2Group := map[string]string{"madang/i-1/cgroup.procs": "", "madang/i-1/memory.current": "4096\n"}
	v1Group := map[string]string{"cpu/madang/i-1/cgroup.procs": "", "memory/madang/i-1/cgroup.procs": "", "memory/madang/i-1/memory.usage_in_bytes": "8192\n"}
	tests := []struct {
		name      string
		files     map[string]string
		want      IOStats
		wantNoIO  bool   // the error wraps ErrNoIOStats
		wantErr   string // substring of another error
		wantFiles []string
		wantMem   string
	}{
		{
			name: "v2 io.stat summed over devices",
			files: withFiles(withFiles(v2Files, v2Group), map[string]string{"madang/i-1/io.stat": "" +
				"8:0 rbytes=1000 wbytes=2000 rios=3 wios=4 dbytes=0 dios=0\n" +
				"253:1 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=5 dios=1\n"}),
			want:      IOStats{ReadBytes: 1010, WriteBytes: 2020, ReadOps: 4, WriteOps: 6},
			wantFiles: []string{"madang/i-1/io.stat"}, wantMem: "madang/i-1/memory.current",
		},
		{
			name:      "v2 with an empty io.stat (no I/O yet)",
			files:     withFiles(withFiles(v2Files, v2Group), map[string]string{"madang/i-1/io.stat": ""}),
			wantFiles: []string{"madang/i-1/io.stat"}, wantMem: "madang/i-1/memory.current",
		},
		{
			name:      "v2 without the io controller",
			files:     withFiles(v2Files, v2Group),
			wantNoIO:  true,
			wantFiles: []string{"madang/i-1/io.stat"}, wantMem: "madang/i-1/memory.current",
		},
		{
			name:      "v2 with a bad io.stat",
			files:     withFiles(withFiles(v2Files, v2Group), map[string]string{"madang/i-1/io.stat": "8:0 rbytes=x\n"}),
			wantErr:   `bad rbytes value "x"`,
			wantFiles: []string{"madang/i-1/io.stat"}, wantMem: "madang/i-1/memory.current",
		},
		{
			name: "v1 blkio throttle counters",
			files: withFiles(withFiles(v1Files, v1Group), map[string]string{
				"blkio/madang/i-1/blkio.throttle.io_service_bytes": "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\n8:16 Read 1\n8:16 Write 2\nTotal 12291\n",
				"blkio/madang/i-1/blkio.throttle.io_serviced":      "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n",
			}),
			want:      IOStats{ReadBytes: 4097, WriteBytes: 8194, ReadOps: 1, WriteOps: 2},
			wantFiles: []string{"blkio/madang/i-1/blkio.throttle.io_service_bytes", "blkio/madang/i-1/blkio.throttle.io_serviced"},
			wantMem:   "memory/madang/i-1/memory.usage_in_bytes",
		},
		{
			name:      "v1 without a blkio group",
			files:     withFiles(v1Files, v1Group),
			wantNoIO:  true,
			wantFiles: []string{"blkio/madang/i-1/blkio.throttle.io_service_bytes", "blkio/madang/i-1/blkio.throttle.io_serviced"},
			wantMem:   "memory/madang/i-1/memory.usage_in_bytes",
		},
		{
			name:     "no hierarchy",
			files:    map[string]string{"README": "tmpfs only\n"},
			wantNoIO: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := layout(t, tc.files, nil)
			h := Detect(root, discard())
			got, err := h.Open(name).IOStats()
			switch {
			case tc.wantNoIO:
				if !errors.Is(err, ErrNoIOStats) || !errors.Is(err, errors.ErrUnsupported) {
					t.Errorf("IOStats = %+v, %v; want an error wrapping ErrNoIOStats and ErrUnsupported", got, err)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("IOStats = %+v, %v; want an error containing %q", got, err, tc.wantErr)
				}
			case err != nil || got != tc.want:
				t.Errorf("IOStats = %+v, %v; want %+v", got, err, tc.want)
			}

			f := h.StatFiles(name)
			var rel []string
			for _, p := range f.IO {
				rel = append(rel, strings.TrimPrefix(p, root+"/"))
			}
			if strings.Join(rel, ",") != strings.Join(tc.wantFiles, ",") {
				t.Errorf("StatFiles.IO = %q, want %q", rel, tc.wantFiles)
			}
			wantMem := ""
			if tc.wantMem != "" {
				wantMem = filepath.Join(root, tc.wantMem)
			}
			if f.Memory != wantMem {
				t.Errorf("StatFiles.Memory = %q, want %q", f.Memory, wantMem)
			}
		})
	}
}

func TestParseIOAndMemory(t *testing.T) {
	v2 := StatFiles{Version: V2, IO: []string{"io.stat"}}
	v1 := StatFiles{Version: V1, IO: []string{"bytes", "ops"}}
	tests := []struct {
		name     string
		files    StatFiles
		contents [][]byte
		want     IOStats
		wantNoIO bool
	}{
		{name: "v2", files: v2, contents: [][]byte{[]byte("8:0 rbytes=1 wbytes=2 rios=3 wios=4\n")}, want: IOStats{1, 2, 3, 4}},
		{name: "v2 file unreadable", files: v2, contents: [][]byte{nil}, wantNoIO: true},
		{name: "v1", files: v1, contents: [][]byte{[]byte("8:0 Read 5\n8:0 Write 6\n"), []byte("8:0 Read 1\n8:0 Write 1\n")}, want: IOStats{5, 6, 1, 1}},
		{name: "v1 ops unreadable", files: v1, contents: [][]byte{[]byte("8:0 Read 5\n"), nil}, wantNoIO: true},
		{name: "contents do not match the files", files: v1, contents: [][]byte{[]byte("")}, wantNoIO: true},
		{name: "no files", files: StatFiles{}, contents: nil, wantNoIO: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.files.ParseIO(tc.contents)
			if tc.wantNoIO {
				if !errors.Is(err, ErrNoIOStats) {
					t.Errorf("ParseIO = %+v, %v; want ErrNoIOStats", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseIO = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}

	mem := []struct {
		name    string
		text    string
		want    uint64
		wantErr bool
	}{
		{name: "bytes", text: "123456\n", want: 123456},
		{name: "garbage", text: "max\n", wantErr: true},
	}
	for _, tc := range mem {
		t.Run("memory "+tc.name, func(t *testing.T) {
			got, err := ParseMemory([]byte(tc.text))
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("ParseMemory(%q) = %d, %v; want %d, error %v", tc.text, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
