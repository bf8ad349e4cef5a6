import Foundation

/// Without libFuzzer (an ordinary `swift build`), a fuzz target's executable runs each file
/// named on the command line, or each file in a named directory, through the target once:
/// `ReceiverFuzz Fuzz/Corpus/receiver` replays the corpus, `ReceiverFuzz crash-…` one input.
public enum Replay {
    public static func run(_ arguments: [String], name: String, target: (String, [UInt8]) -> Void) -> Int32 {
        guard !arguments.isEmpty else {
            print("usage: \(name) FILE|DIRECTORY…  (built with `make fuzz` it is a libFuzzer binary instead)")
            return 2
        }
        var count = 0
        for argument in arguments {
            for path in files(argument) {
                guard let data = FileManager.default.contents(atPath: path) else {
                    print("\(name): cannot read \(path)")
                    return 1
                }
                target(path, Array(data))
                count += 1
            }
        }
        print("\(name): \(count) inputs ran without a failure")
        return 0
    }

    static func files(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
    }
}
