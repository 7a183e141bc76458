"""What a run leaves for use elsewhere: exports (writer, reader, command), model cards, the hub, backbone
fingerprints, and prompt transfer from an earlier run."""
