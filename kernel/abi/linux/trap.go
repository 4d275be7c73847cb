package linux

// RISC-V trap causes (scause), named as the privileged specification
// names them. Not Linux's ABI strictly, but the fact every trap-handling
// package and the signal code share.
const (
	// CauseInterrupt is scause's top bit: the rest is an interrupt number.
	CauseInterrupt = 1 << 63

	SupervisorSoftwareInterrupt = 1
	SupervisorTimerInterrupt    = 5
	SupervisorExternalInterrupt = 9

	InstructionAddressMisaligned = 0
	InstructionAccessFault       = 1
	IllegalInstruction           = 2
	Breakpoint                   = 3
	LoadAddressMisaligned        = 4
	LoadAccessFault              = 5
	StoreAMOAddressMisaligned    = 6
	StoreAMOAccessFault          = 7
	EnvironmentCallFromUMode     = 8
	EnvironmentCallFromSMode     = 9
	InstructionPageFault         = 12
	LoadPageFault                = 13
	StoreAMOPageFault            = 15
)
