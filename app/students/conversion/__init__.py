"""Converting a lead into a student (转为学员) without losing its history."""
