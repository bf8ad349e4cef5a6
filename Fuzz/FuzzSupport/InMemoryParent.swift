import Agent
import Backends
import DNSWire
import DelegationCore
import NIOConcurrencyHelpers

/// The parent zone in memory, as both the reader and the backend of the receiver: the reader
/// sees what the backend wrote. It remembers every operation handed to the backend since the
/// last ``takeApplied()``, so a fuzz target can check where a change landed.
public final class InMemoryParent: ParentZoneReader, DelegationBackend, Sendable {
    private let state: NIOLockedValueBox<(snapshots: [DomainName: DelegationSnapshot], applied: [Update.Operation])>

    public init(_ snapshots: [DelegationSnapshot]) {
        state = NIOLockedValueBox((Dictionary(uniqueKeysWithValues: snapshots.map { ($0.child, $0) }), []))
    }

    public var description: String { "in-memory parent" }

    public var snapshots: [DomainName: DelegationSnapshot] { state.withLockedValue { $0.snapshots } }

    /// The operations applied since the last call, and forgets them.
    public func takeApplied() -> [Update.Operation] {
        state.withLockedValue { value in
            defer { value.applied = [] }
            return value.applied
        }
    }

    public func delegation(in zone: AgentConfiguration.Zone, child: DomainName) async throws -> DelegationSnapshot? {
        state.withLockedValue { $0.snapshots[child] }
    }

    public func apply(_ update: Update) async throws {
        try state.withLockedValue { value in
            // Recorded before anything can fail: the target checks what the backend was asked.
            value.applied += update.operations
            var changed = value.snapshots
            for operation in update.operations {
                // Like a zone file: a name below no delegation is not tracked here.
                guard let child = changed.keys.first(where: { operation.name.isSubdomain(of: $0) }) else { continue }
                changed[child] = try changed[child]!.applying([operation])
            }
            value.snapshots = changed
        }
    }
}
