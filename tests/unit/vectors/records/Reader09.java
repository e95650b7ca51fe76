// Reads magic-0 message sets with Apache Kafka 0.9.0.1's own client classes (the code its
// consumer runs on fetched data: MemoryRecords deep iteration, CRC checks, gzip/snappy/lz4
// decompression) and prints every message in the .expect line format. Used by crosscheck.py:
//   java -cp 'KAFKA09/libs/*' Reader09.java FILE...
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.apache.kafka.common.record.LogEntry;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;

public class Reader09 {
    static String hex(ByteBuffer b) {
        if (b == null) return "-";
        StringBuilder s = new StringBuilder("=");
        ByteBuffer d = b.duplicate();
        while (d.hasRemaining()) s.append(String.format("%02x", d.get() & 0xff));
        return s.toString();
    }

    public static void main(String[] args) throws Exception {
        for (String f : args) {
            byte[] bytes = Files.readAllBytes(Paths.get(f));
            System.out.println("# " + f);
            for (LogEntry e : MemoryRecords.readableRecords(ByteBuffer.wrap(bytes))) {
                Record r = e.record();
                r.ensureValid();
                System.out.println("R " + e.offset() + " -1 -1 " + hex(r.key()) + " " + hex(r.value()) + " 0");
            }
        }
    }
}
