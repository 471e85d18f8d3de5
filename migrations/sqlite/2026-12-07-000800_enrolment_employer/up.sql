-- The trainee's employer for this training, printed on the certificat de réalisation.
ALTER TABLE enrolments ADD COLUMN employer_name TEXT;
