import Agent
import Backends
import DNSWire
import DelegationCore
import NIOConcurrencyHelpers
import Store

/// A parent zone in memory: the reader sees what the backend wrote. `reachable = false`
/// simulates the primary being down for both.
final class FakeParent: ParentZoneReader, DelegationBackend, @unchecked Sendable {
    let state: NIOLockedValueBox<(snapshots: [DomainName: DelegationSnapshot], reachable: Bool, applied: Int)>

    init(_ snapshots: [DelegationSnapshot]) {
        state = NIOLockedValueBox((Dictionary(uniqueKeysWithValues: snapshots.map { ($0.child, $0) }), true, 0))
    }

    var description: String { "fake parent" }

    var reachable: Bool {
        get { state.withLockedValue { $0.reachable } }
        set { state.withLockedValue { $0.reachable = newValue } }
    }

    var appliedCount: Int { state.withLockedValue { $0.applied } }

    func snapshot(_ child: DomainName) -> DelegationSnapshot? { state.withLockedValue { $0.snapshots[child] } }

    /// Replaces the delegation of `snapshot.child`, as the parent's operator would.
    func set(_ snapshot: DelegationSnapshot) { state.withLockedValue { $0.snapshots[snapshot.child] = snapshot } }

    func delegation(in zone: AgentConfiguration.Zone, child: DomainName) async throws -> DelegationSnapshot? {
        try state.withLockedValue {
            guard $0.reachable else { throw BackendError("primary unreachable") }
            return $0.snapshots[child]
        }
    }

    func apply(_ update: Update) async throws {
        try state.withLockedValue { value in
            guard value.reachable else { throw BackendError("connection refused") }
            var byChild: [DomainName: [Update.Operation]] = [:]
            for operation in update.operations {
                guard let child = value.snapshots.keys.first(where: { operation.name.isSubdomain(of: $0) }) else { continue }
                byChild[child, default: []].append(operation)
            }
            for (child, operations) in byChild {
                value.snapshots[child] = try value.snapshots[child]!.applying(operations)
            }
            value.applied += 1
        }
    }
}
