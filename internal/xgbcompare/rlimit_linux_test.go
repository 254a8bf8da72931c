package xgbcompare_test

import (
	"syscall"
	"testing"
)

// capAddressSpace limits this process to 8 GiB of address space, so that an
// allocation beyond it fails whatever the machine's memory and overcommit.
func capAddressSpace(t *testing.T) {
	lim := syscall.Rlimit{Cur: 8 << 30, Max: 8 << 30}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
		t.Fatal(err)
	}
}
