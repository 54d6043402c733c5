package storetest

import "testing"

func TestMemorySignalContract(t *testing.T) { SignalContract(t, NewSignals()) }
