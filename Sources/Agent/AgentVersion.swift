/// The agent's version, printed by `delegsync version` and `delegsync status`.
public enum AgentVersion {
    public static let current = "0.1.0"
}
