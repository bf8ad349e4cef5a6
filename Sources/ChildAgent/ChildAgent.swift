/// The child side of delegsync (issue 5): it keeps the parent's delegation for a child zone in
/// step with the child's own apex, over SIG(0)-signed UPDATEs (the DDNS draft).
public enum ChildAgent {}
