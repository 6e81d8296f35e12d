// Package normalize holds the pure functions every vendor normalizer shares:
// turning vendor text into result-v1 values (dates, times, numbers, phone
// numbers, business registration numbers), reading and verifying passport
// MRZ lines, masking personal numbers, and building result.Field values.
//
// Every parser returns ok=false instead of guessing: result-v1 says a value
// that cannot be normalized is null while the text keeps what was read.
package normalize
