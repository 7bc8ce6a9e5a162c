// Validates XML files against an XML Schema; used by the Rust tests of the pain.008
// writer. Run as `java Validate.java schema.xsd file.xml...`: exit 0 when every file is
// valid, 1 (with the first violation of each invalid file on stderr) otherwise.
import java.io.File;
import javax.xml.XMLConstants;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.Schema;
import javax.xml.validation.SchemaFactory;
import javax.xml.validation.Validator;
import org.xml.sax.SAXException;

public class Validate {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: java Validate.java schema.xsd file.xml...");
            System.exit(2);
        }
        SchemaFactory factory = SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI);
        Schema schema = factory.newSchema(new File(args[0]));
        int invalid = 0;
        for (int i = 1; i < args.length; i++) {
            Validator validator = schema.newValidator();
            try {
                validator.validate(new StreamSource(new File(args[i])));
                System.out.println("valid: " + args[i]);
            } catch (SAXException error) {
                invalid++;
                System.err.println("invalid: " + args[i] + ": " + error.getMessage());
            }
        }
        System.exit(invalid == 0 ? 0 : 1);
    }
}
