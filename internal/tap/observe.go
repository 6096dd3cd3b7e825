package tap

// Observer hears of a sync's progress, for metrics and progress lines. Its
// methods are called from the goroutine that writes records, so they must
// be quick; other goroutines may read what they count.
type Observer interface {
	// Record: one record of stream was written.
	Record(stream string)
	// StreamDone: a selected stream's last record of the run was written.
	StreamDone(stream string)
}

// nopObserver is the Observer of a Sync given none.
type nopObserver struct{}

func (nopObserver) Record(string)     {}
func (nopObserver) StreamDone(string) {}
