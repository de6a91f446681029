package kse

// LiveEncoders is the number of encoders created and not yet freed.
func LiveEncoders() int64 { return liveEncoders.Load() }
