package gen

import (
	"os"
	"runtime/debug"
)

// MemoryLimit is the soft limit on the Go heap that LimitMemory sets.
// Generating a big model's package keeps a few hundred MB live (rf-sqrt's
// 2.4 M nodes: 630 MB at most, docs/model.md), and the collector's default
// pace lets the heap grow to twice what is live before it collects: 1.4 GB
// of resident memory. Under the limit the collector runs more often instead.
const MemoryLimit = 1 << 30

// LimitMemory sets the heap's soft limit to MemoryLimit, unless GOMEMLIMIT
// sets one: genmodel and the golden tests call it before they generate.
func LimitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
