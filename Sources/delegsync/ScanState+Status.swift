import DelegationCore
import Store

extension ScanState {
    /// What `delegsync status CHILD` prints about the child's last CDS/CSYNC scan.
    var explanation: String {
        var text = "last scan (\(zone)): \(UTCTime.text(lastScanAt))\n  \(lastResult)"
        if let bootstrap {
            text += "\n  first DS: seen unchanged since \(UTCTime.text(bootstrap.firstSeen)), \(bootstrap.scans) scan(s) counted"
        }
        return text
    }
}
