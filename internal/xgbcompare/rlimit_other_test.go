//go:build !linux

package xgbcompare_test

import "testing"

func capAddressSpace(t *testing.T) {
	t.Skip("capping the address space needs Linux's RLIMIT_AS")
}
